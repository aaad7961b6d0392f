# Gives Debian's az 2.45 the switch newer az has: with
# AZURE_CORE_INSTANCE_DISCOVERY=false (what `az config set
# core.instance_discovery=false` sets in az 2.46 and later), az's MSAL
# client skips instance discovery, the call to
# https://login.microsoftonline.com/common/discovery/instance that MSAL
# makes for any authority not on Microsoft's list. Newer az passes
# instance_discovery=False to MSAL for that setting; MSAL 1.21 (the one
# Debian ships with az 2.45) already takes the argument, so this file
# passes it the same way. It changes nothing else.
#
# Use: PYTHONPATH=<this directory> AZURE_CORE_INSTANCE_DISCOVERY=false az ...
import os
import sys

# Debian's own sitecustomize (apport's hook), which this file shadows.
try:
    exec(open("/etc/python%d.%d/sitecustomize.py" % sys.version_info[:2]).read())
except OSError:
    pass

if os.environ.get("AZURE_CORE_INSTANCE_DISCOVERY", "").lower() in ("false", "0", "no", "off"):
    try:
        import msal
    except ImportError:
        msal = None
    if msal is not None:
        _init = msal.ClientApplication.__init__

        def _init_without_discovery(self, *args, **kwargs):
            kwargs.setdefault("instance_discovery", False)
            _init(self, *args, **kwargs)

        msal.ClientApplication.__init__ = _init_without_discovery
