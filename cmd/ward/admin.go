package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/internal/server"
)

func adminCmd() *cobra.Command {
	admin := &cobra.Command{Use: "admin", Short: "Server administration on the database directly"}
	var cfg server.Config
	printAdmin := func(cmd *cobra.Command, a server.Admin) error {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(a)
	}
	export := &cobra.Command{
		Use:   "export",
		Short: "Print the bootstrap admin's admin.json from the shared database (any replica's DSN and KEK)",
		Long: `ward admin export reads the bootstrap admin that replicas share through the
database (sealed under the KEK) and prints it as admin.json, so any operator
holding the DSN and the KEK can recover it without a replica's data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := server.ExportAdmin(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return printAdmin(cmd, a)
		},
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Make a new admin (Owner and Key Vault Secrets Officer at /) when the admin was deleted, demoted or its secret lost (any replica's DSN and KEK)",
		Long: `ward admin create is the recovery for a lost admin. Ward bootstraps its admin
once, on the database's first start, and never touches it again: an operator may
demote it, rotate its secrets or delete it through the API. When no admin is left,
ward admin create, with the DSN and the KEK, makes a new service principal with a
new secret, grants it Owner and Key Vault Secrets Officer at "/", shares it through
the database as the admin (every replica writes it into its admin.json at its next
start), writes it into --data's admin.json and prints it. Running replicas grant
the new admin its roles within a second; the former admin is left as it is.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := server.CreateAdmin(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "New admin %s written to %s\n", a.ClientID, filepath.Join(cfg.DataDir, server.AdminFile))
			return printAdmin(cmd, a)
		},
	}
	for _, c := range []*cobra.Command{export, create} {
		f := c.Flags()
		f.StringVar(&cfg.DataDir, "data", "ward-data", "data directory (for SQLite's ward.db and the default kek file)")
		f.StringVar(&cfg.Storage, "storage", "sqlite", "sqlite or postgres")
		f.StringVar(&cfg.DSN, "dsn", os.Getenv("WARD_DSN"), "PostgreSQL URL (env WARD_DSN)")
		f.StringVar(&cfg.KEKFile, "kek-file", "", "key-encryption key file (default <data>/kek; env WARD_KEK overrides)")
		admin.AddCommand(c)
	}
	return admin
}
