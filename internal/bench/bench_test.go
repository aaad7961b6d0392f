package bench

import (
	"context"
	"math"
	"os"
	"testing"
)

func TestThroughput(t *testing.T) {
	disk := &Disk{WriteMBps: 100, ReadMBps: 400}
	for _, c := range []struct {
		name          string
		cfg           Config
		sc            Scenario
		rps           float64
		wantMB, ratio float64
	}{
		{"no payload", Config{Disk: disk}, Scenario{}, 50, 0, 0},
		{"read against the disk's read", Config{Disk: disk}, Scenario{Bytes: 4 << 20, Disk: DiskRead}, 10, 41.94304, 41.94304 / 400},
		{"write against the disk's write", Config{Disk: disk}, Scenario{Bytes: 4 << 20, Disk: DiskWrite}, 10, 41.94304, 41.94304 / 100},
		{"no disk measured", Config{}, Scenario{Bytes: 4 << 10, Disk: DiskWrite}, 1000, 4.096, 0},
		{"no direction", Config{Disk: disk}, Scenario{Bytes: 4 << 10}, 1000, 4.096, 0},
		{"read not measured on this system", Config{Disk: &Disk{WriteMBps: 100}}, Scenario{Bytes: 4 << 10, Disk: DiskRead}, 1000, 4.096, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.cfg.throughput(c.sc, Result{RPS: c.rps})
			if math.Abs(got.MBps-c.wantMB) > 1e-9 || math.Abs(got.DiskRatio-c.ratio) > 1e-9 {
				t.Fatalf("throughput(%+v, %v req/s) = %v MB/s, ratio %v; want %v, %v", c.sc, c.rps, got.MBps, got.DiskRatio, c.wantMB, c.ratio)
			}
		})
	}
}

func TestMeasureDisk(t *testing.T) {
	dir := t.TempDir()
	d, err := MeasureDisk(context.Background(), dir, 3<<20+5)
	if err != nil {
		t.Fatal(err)
	}
	if d.Dir != dir || d.Bytes != 3<<20+5 || d.WriteMBps <= 0 || d.ReadMBps <= 0 {
		t.Fatalf("MeasureDisk = %+v", d)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left %d files in %s", len(left), dir)
	}
	if _, err := MeasureDisk(context.Background(), dir+"/missing", 1<<20); err == nil {
		t.Fatal("MeasureDisk in a missing directory: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MeasureDisk(ctx, dir, 1<<20); err == nil {
		t.Fatal("MeasureDisk with a cancelled context: no error")
	}
}
