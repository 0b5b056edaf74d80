package collector

import "testing"

func TestQuietAfterBurst(t *testing.T) {
	tests := []struct {
		name   string
		counts []uint64 // the batch counter at each tick
		want   []bool   // release at that tick
	}{
		{"idle from the start", []uint64{0, 0, 0}, []bool{false, false, false}},
		{"a burst, then quiet: once", []uint64{0, 5, 9, 9, 9}, []bool{false, false, false, true, false}},
		{"a steady trickle never", []uint64{1, 2, 3, 4}, []bool{false, false, false, false}},
		{"two bursts, twice", []uint64{4, 4, 4, 6, 6, 6}, []bool{false, true, false, false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q quietAfterBurst
			for i, n := range tt.counts {
				if got := q.tick(n); got != tt.want[i] {
					t.Fatalf("tick %d (count %d): release = %v, want %v", i, n, got, tt.want[i])
				}
			}
		})
	}
}
