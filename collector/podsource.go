package collector

import (
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// newPodSource reads the stdout/stderr of this pod's other containers from
// the kubelet's files, /var/log/pods/<namespace>_<pod>_<uid>/<container>/N.log
// (CRI format). It is a file source whose globs follow container restarts
// (a new N.log) and kubelet rotation (N.log.<timestamp>; .gz is skipped), that
// never reads the adapter's own container, and stamps each record with the
// container it came from.
func newPodSource(cfg SourceConfig, deps sourceDeps, k KubernetesConfig, restored []checkpointEntry, firstStart bool) *fileSource {
	k = k.resolved()
	ns, pod, uid, self := k.Namespace, k.Pod, k.UID, k.Container
	if self == "" {
		self = "obsadapter"
	}
	if uid == "" {
		uid = "*"
	}
	// logs_dir is the kubelet's log root, or the pod's own directory mounted
	// alone (a hostPath narrowed with subPathExpr), under any mount path:
	// then its subdirectories are containers. Both layouts are globbed; the
	// narrowed one is told by a container directory right under logs_dir
	// whose name is not a pod directory's.
	podDir := filepath.Join(cfg.LogsDir, glob(ns)+"_"+glob(pod)+"_"+uid)
	if isPodDir(cfg.LogsDir) {
		podDir = cfg.LogsDir
	}
	cfg.Include = []string{filepath.Join(podDir, "*", "*.log"), filepath.Join(podDir, "*", "*.log.*")}
	if podDir != cfg.LogsDir {
		cfg.Include = append(cfg.Include, filepath.Join(cfg.LogsDir, "*", "*.log"), filepath.Join(cfg.LogsDir, "*", "*.log.*"))
	}
	cfg.Exclude = append(cfg.Exclude, "*.gz", "*.tmp")
	s := newFileSource(cfg, deps, restored, firstStart)
	s.globs = func() []string { return cfg.Include }
	s.accept = func(path string) bool {
		c := filepath.Base(filepath.Dir(path))
		if filepath.Dir(filepath.Dir(path)) == filepath.Clean(cfg.LogsDir) && podDir != cfg.LogsDir && isPodDir(c) {
			return false // a pod directory's stray file, not a container
		}
		return c != self && (len(cfg.Containers) == 0 || slices.Contains(cfg.Containers, c))
	}
	s.emptyAfter = podEmptyAfter
	s.emptyHint = " (logs_dir should be the kubelet's /var/log/pods with POD_NAMESPACE, POD_NAME and POD_UID set, or the pod's own directory mounted with subPathExpr: see docs/kubernetes.md, section 7)"
	metas := map[string]*record.Kubernetes{}
	s.meta = func(path string) parsers.Meta {
		c := filepath.Base(filepath.Dir(path))
		m := metas[c]
		if m == nil {
			m = &record.Kubernetes{Container: c}
			if deps.kubernetes != nil {
				m.Namespace, m.Pod, m.Node = deps.kubernetes.Namespace, deps.kubernetes.Pod, deps.kubernetes.Node
			}
			if m.Namespace == "" || m.Pod == "" { // from the directory name when the env does not say
				if parts := strings.SplitN(filepath.Base(filepath.Dir(filepath.Dir(path))), "_", 3); len(parts) == 3 {
					m.Namespace, m.Pod = parts[0], parts[1]
				}
			}
			metas[c] = m
		}
		return parsers.Meta{Source: cfg.Name, Path: path, Kubernetes: m}
	}
	return s
}

// podEmptyAfter is how long a pod source may find no container log file
// before it says so: the kubelet creates a container's directory when the
// container starts, moments after the pod.
const podEmptyAfter = 30 * time.Second

// isPodDir tells whether a directory is one pod's kubelet log directory,
// <namespace>_<pod>_<uid>: Kubernetes names cannot contain '_', so two of
// them with three non-empty parts mark it unambiguously.
func isPodDir(dir string) bool {
	parts := strings.Split(filepath.Base(dir), "_")
	return len(parts) == 3 && parts[0] != "" && parts[1] != "" && parts[2] != ""
}

// glob escapes a name for use in a glob, or matches anything when empty.
func glob(s string) string {
	if s == "" {
		return "*"
	}
	return strings.NewReplacer("*", `\*`, "?", `\?`, "[", `\[`).Replace(s)
}
