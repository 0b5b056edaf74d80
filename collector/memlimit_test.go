package collector

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCgroupMemoryLimit(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"cgroup v2 limit", map[string]string{"memory.max": "134217728\n"}, 134217728},
		{"cgroup v2 unlimited", map[string]string{"memory.max": "max\n"}, 0},
		{"cgroup v1 limit", map[string]string{"memory/memory.limit_in_bytes": "268435456\n"}, 268435456},
		{"cgroup v1 unlimited", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0},
		{"garbage", map[string]string{"memory.max": "lots\n"}, 0},
		{"no cgroup files", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tt.files {
				os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755)
				os.WriteFile(filepath.Join(root, name), []byte(content), 0o644)
			}
			if got := cgroupMemoryLimit(root); got != tt.want {
				t.Fatalf("cgroupMemoryLimit = %d, want %d", got, tt.want)
			}
		})
	}
}
