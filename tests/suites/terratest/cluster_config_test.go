package terratest

import (
	"sort"
	"testing"
)

// Spot nodes carry both the spot label and the spot taint; a label without the taint lets any
// workload land on capacity that can vanish with 30 seconds' notice.
func TestSpotPoolsCarryTaintAndLabel(t *testing.T) {
	names, pools := byPool(getNodes(t))
	spotPools := 0
	for _, pool := range names {
		nodes := pools[pool]
		spot := false
		for _, n := range nodes {
			spot = spot || n.isSpot() || n.hasSpotTaint()
		}
		if !spot {
			continue
		}
		spotPools++
		t.Run(pool, func(t *testing.T) {
			for _, n := range nodes {
				if !n.isSpot() {
					t.Errorf("node %s has the spot taint but not the label %s=spot", n.Metadata.Name, priorityLabel)
				}
				if !n.hasSpotTaint() {
					t.Errorf("node %s is labelled spot but lacks the taint %s=spot:NoSchedule", n.Metadata.Name, spotTaintKey)
				}
			}
		})
	}
	if spotPools == 0 {
		t.Fatalf("no spot node pool found (no node labelled %s=spot)", priorityLabel)
	}
}

// Every pool is zonal: a zone label `<region>-<n>` rather than a fault-domain number such as `0`.
func TestEveryPoolIsZonal(t *testing.T) {
	names, pools := byPool(getNodes(t))
	for _, pool := range names {
		nodes := pools[pool]
		t.Run(pool, func(t *testing.T) {
			for _, n := range nodes {
				if z := n.Metadata.Labels[zoneLabel]; !zonalZone.MatchString(z) {
					t.Errorf("node %s has zone %q: pool %s is not zonal", n.Metadata.Name, z, pool)
				}
			}
		})
	}
}

// Spot capacity spans at least two zones, so one zone's eviction wave cannot take all of it.
func TestSpotNodesSpanZones(t *testing.T) {
	zones := map[string]int{}
	for _, n := range getNodes(t) {
		if n.isSpot() {
			zones[n.Metadata.Labels[zoneLabel]]++
		}
	}
	names := make([]string, 0, len(zones))
	for z := range zones {
		names = append(names, z)
	}
	sort.Strings(names)
	if len(names) < 2 {
		t.Errorf("spot nodes are in %d zone(s) %v, want at least 2", len(names), names)
	}
}

// The system pool runs CoreDNS and friends: it must exist and must not be spot.
func TestSystemPoolIsNotSpot(t *testing.T) {
	system := 0
	for _, n := range getNodes(t) {
		if n.Metadata.Labels[modeLabel] != "system" {
			continue
		}
		system++
		if n.isSpot() || n.hasSpotTaint() {
			t.Errorf("system node %s (pool %s) is a spot node", n.Metadata.Name, n.pool())
		}
	}
	if system == 0 {
		t.Errorf("no node labelled %s=system", modeLabel)
	}
}
