package procmem

import (
	"fmt"
	"testing"
)

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
	maps := `00400000-02772000 r-xp 00000000 fe:00 9986354                            /tmp/ward (deleted)
02772000-04d89000 r--p 02372000 fe:00 9986354                            /tmp/ward (deleted)
04d89000-04e79000 rw-p 04989000 fe:00 9986354                            /tmp/ward (deleted)
04e79000-06ed5000 rw-p 00000000 00:00 0
7fec10357000-7fec1035f000 rw-s 00000000 fe:00 9978032                    /data/ward.db-shm
7fec57802000-7fec57958000 r-xp 00026000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
7fec57958000-7fec579ab000 r--s 00000000 fe:00 9986354                    /tmp/ward
7fec579ab000-7fec579ac000 r-xp 00000000 fe:01 9986354                    /other/device
`
	// smaps of a PIE: the dynamic linker wrote relocations into the
	// read-only-after-relocation mapping (Anonymous: 8 kB).
	smaps := `5600000000-5600100000 r--p 00000000 08:01 42                         /usr/bin/ward
Size:               1024 kB
Anonymous:             0 kB
5600100000-5600300000 r-xp 00100000 08:01 42                         /usr/bin/ward
Anonymous:             0 kB
5600300000-5600380000 r--p 00300000 08:01 42                         /usr/bin/ward
Rss:                 512 kB
Anonymous:             8 kB
5600380000-5600390000 rw-p 00380000 08:01 42                         /usr/bin/ward
Anonymous:            64 kB
`
	if got, want := executableMappings([]byte(smaps), 0x5600100010), []mapping{{0x5600000000, 0x5600100000}, {0x5600100000, 0x5600300000}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("PIE: executableMappings = %x, want %x (not the relocated read-only data)", got, want)
	}
	for _, tc := range []struct {
		name string
		pc   uint64
		want []mapping
	}{
		{"code of the binary", 0x401000, []mapping{{0x400000, 0x2772000}, {0x2772000, 0x4d89000}}},
		{"code of libc", 0x7fec57802000, []mapping{{0x7fec57802000, 0x7fec57958000}}},
		{"anonymous memory", 0x04e79000, nil},
		{"unmapped", 0x10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := executableMappings([]byte(maps), tc.pc)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("executableMappings(%#x) = %x, want %x (the read-only private mappings of that file only)", tc.pc, got, tc.want)
			}
		})
	}
}
