package procmem

import "testing"

func TestParseStatus(t *testing.T) {
	status := "Name:\tward\nVmHWM:\t   70000 kB\nVmRSS:\t   68748 kB\nRssAnon:\t   14144 kB\nRssFile:\t   54604 kB\nRssShmem:\t       0 kB\n"
	u, err := parseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Usage{RSS: 68748 << 10, Anon: 14144 << 10, File: 54604 << 10}); u != want {
		t.Errorf("parseStatus = %+v, want %+v", u, want)
	}
	for _, bad := range []string{"", "VmRSS:\t1 kB\n", "VmRSS:\tx kB\nRssAnon:\t1 kB\nRssFile:\t1 kB\n"} {
		if u, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q) = %+v, want an error", bad, u)
		}
	}
}

func TestParseLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"536870912\n", 512 << 20, true},
		{"max\n", 0, false},
		{"9223372036854771712\n", 0, false}, // cgroup v1's "unlimited"
		{"0\n", 0, false},
		{"", 0, false},
	} {
		if got, ok := parseLimit([]byte(tc.in)); got != tc.want || ok != tc.ok {
			t.Errorf("parseLimit(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCgroupPaths(t *testing.T) {
	for _, tc := range []struct {
		name, in, v2, v1 string
	}{
		{"v2 only", "0::/kubepods/pod1/ctr\n", "/kubepods/pod1/ctr", ""},
		{"v1 with systemd", "9:name=systemd:/\n4:memory:/process_api/abc\n3:cpu,cpuacct:/\n0::/\n", "/", "/process_api/abc"},
		{"v1 joined controllers", "5:memory,hugetlb:/docker/x\n", "", "/docker/x"},
		{"garbage", "nonsense\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v2, v1 := cgroupPaths([]byte(tc.in))
			if v2 != tc.v2 || v1 != tc.v1 {
				t.Errorf("cgroupPaths(%q) = %q, %q; want %q, %q", tc.in, v2, v1, tc.v2, tc.v1)
			}
		})
	}
}

func TestExecutableMappings(t *testing.T) {
	maps := `00400000-02772000 r-xp 00000000 fe:00 9986354                            /tmp/ward
02772000-04d89000 r--p 02372000 fe:00 9986354                            /tmp/ward
04d89000-04e79000 rw-p 04989000 fe:00 9986354                            /tmp/ward
04e79000-06ed5000 rw-p 00000000 00:00 0
7fec10357000-7fec1035f000 rw-s 00000000 fe:00 9978032                    /data/ward.db-shm
7fec57802000-7fec57958000 r-xp 00026000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
7fec57958000-7fec579ab000 r--s 00000000 fe:00 9986354                    /tmp/ward
7fec579ab000-7fec579ac000 r-xp 00000000 fe:01 9986354                    /other/device
`
	dev, _ := parseDev("fe:00")
	got := executableMappings([]byte(maps), dev, 9986354)
	want := []mapping{{0x400000, 0x2772000}, {0x2772000, 0x4d89000}}
	if len(got) != len(want) {
		t.Fatalf("executableMappings = %x, want %x (read-only private mappings of the file only)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d = %x, want %x", i, got[i], want[i])
		}
	}
}
