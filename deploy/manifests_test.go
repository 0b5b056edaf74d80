// Package deploy holds the shipping artefacts (manifests, Prometheus and Fluentd configs) and the tests
// that keep them honest: every manifest decodes strictly into the Kubernetes API types, follows the
// least-privilege rules docs/kubernetes.md promises, and carries an obsadapter config that the
// adapter's own check-config accepts.
package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/obsadapter/obsadapter/deploy/internal/adapterbin"
)

const (
	adapterName = "obsadapter"
	configKey   = "obsadapter.yaml"
	metricsPort = 9725
	stateMount  = "/var/lib/obsadapter"
)

// kinds are the API types a manifest may hold; anything else is a test failure, so a new kind
// gets a strict type here before it ships.
var kinds = map[string]func() any{
	"v1/ConfigMap":       func() any { return &corev1.ConfigMap{} },
	"v1/Service":         func() any { return &corev1.Service{} },
	"apps/v1/Deployment": func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":       func() any { return &batchv1.Job{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PodMonitor":     func() any { return &monitoringv1.PodMonitor{} },
}

type object struct {
	file string
	doc  int
	obj  any
}

func (o object) String() string { return fmt.Sprintf("%s#%d", o.file, o.doc) }

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decode splits a multi-document YAML file and decodes each document strictly (unknown fields,
// duplicate keys and wrong types fail) into the type its apiVersion and kind name.
func decode(file string, data []byte) ([]object, error) {
	var objs []object
	for i, doc := range docSep.Split(string(data), -1) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, fmt.Errorf("%s#%d: %w", file, i, err)
		}
		if tm.APIVersion == "" && tm.Kind == "" && strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		newObj, ok := kinds[tm.APIVersion+"/"+tm.Kind]
		if !ok {
			return nil, fmt.Errorf("%s#%d: apiVersion %q kind %q has no strict type in this test", file, i, tm.APIVersion, tm.Kind)
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			return nil, fmt.Errorf("%s#%d (%s): %w", file, i, tm.Kind, err)
		}
		objs = append(objs, object{file: file, doc: i, obj: obj})
	}
	return objs, nil
}

func stripComments(doc string) string {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")
}

// manifests decodes every Kubernetes manifest under kubernetes/ (the Prometheus server config and
// the Fluentd config are not Kubernetes objects and have their own tests).
func manifests(t *testing.T) map[string][]object {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("kubernetes/*/*.yaml")
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	all := map[string][]object{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decode(f, data)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		all[f] = objs
	}
	return all
}

func TestManifestsDecodeStrictly(t *testing.T) {
	for file, objs := range manifests(t) {
		if len(objs) == 0 {
			t.Errorf("%s: no objects", file)
		}
	}
}

// TestStrictDecodingRejects shows the decoder used above is strict, so a typo in a manifest cannot
// pass silently.
func TestStrictDecodingRejects(t *testing.T) {
	const deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
	tests := []struct{ name, doc, want string }{
		{"unknown field", deployment + "spec:\n  template:\n    spec:\n      shareProcessNamespaces: true\n", `unknown field "shareProcessNamespaces"`},
		{"wrong type", deployment + "spec: {replicas: one}\n", "cannot unmarshal string"},
		{"duplicate key", deployment + "spec: {replicas: 1, replicas: 2}\n", `key "replicas" already set`},
		{"unknown kind", "apiVersion: v1\nkind: Secret\n", "has no strict type"},
		{"unknown monitor field", "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nspec: {podMetricEndpoints: []}\n", `unknown field "podMetricEndpoints"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode("test.yaml", []byte("# leading comment document\n---\n"+tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// adapterConfig is the part of an obsadapter config these tests cross-check with the manifests.
type adapterConfig struct {
	StateDir string `json:"state_dir"`
	Sources  []struct {
		Name    string   `json:"name"`
		Type    string   `json:"type"`
		Include []string `json:"include"`
		LogsDir string   `json:"logs_dir"`
	} `json:"sources"`
	HTTP struct {
		Listen string `json:"listen"`
	} `json:"http"`
	Shutdown struct {
		GracePeriod  string `json:"grace_period"`
		DrainTimeout string `json:"drain_timeout"`
	} `json:"shutdown"`
	Exporters struct {
		Fluent struct {
			Enabled bool   `json:"enabled"`
			Address string `json:"address"`
			Tag     string `json:"tag"`
		} `json:"fluent"`
	} `json:"exporters"`
}

// workload is one Deployment or Job with the ConfigMaps and Services of its file.
type workload struct {
	name     string
	template *corev1.PodTemplateSpec
	configs  map[string]*corev1.ConfigMap
	svcs     []*corev1.Service
	job      bool
}

func workloads(t *testing.T) []workload {
	t.Helper()
	var ws []workload
	for file, objs := range manifests(t) {
		configs := map[string]*corev1.ConfigMap{}
		var svcs []*corev1.Service
		var found []workload
		for _, o := range objs {
			switch v := o.obj.(type) {
			case *corev1.ConfigMap:
				configs[v.Name] = v
			case *corev1.Service:
				svcs = append(svcs, v)
			case *appsv1.Deployment:
				found = append(found, workload{name: file + "/" + v.Name, template: &v.Spec.Template})
			case *batchv1.Job:
				found = append(found, workload{name: file + "/" + v.Name, template: &v.Spec.Template, job: true})
			}
		}
		for _, w := range found {
			w.configs, w.svcs = configs, svcs
			ws = append(ws, w)
		}
	}
	slices.SortFunc(ws, func(a, b workload) int { return strings.Compare(a.name, b.name) })
	if len(ws) < 4 {
		t.Fatalf("found %d workloads, want sidecar, native sidecar, pod source and job", len(ws))
	}
	return ws
}

// adapter returns the obsadapter container and whether it is a native sidecar.
func adapter(spec *corev1.PodSpec) (*corev1.Container, bool) {
	for i := range spec.InitContainers {
		if spec.InitContainers[i].Name == adapterName {
			return &spec.InitContainers[i], true
		}
	}
	for i := range spec.Containers {
		if spec.Containers[i].Name == adapterName {
			return &spec.Containers[i], false
		}
	}
	return nil, false
}

// config returns the adapter's config file as mounted: the ConfigMap behind the --config path.
func (w workload) config(t *testing.T, c *corev1.Container) (raw string, cfg adapterConfig) {
	t.Helper()
	i := slices.Index(c.Args, "--config")
	if i < 0 || i+1 >= len(c.Args) {
		t.Fatalf("args %v: no --config FILE", c.Args)
	}
	path := c.Args[i+1]
	for _, m := range c.VolumeMounts {
		if filepath.Dir(path) != m.MountPath {
			continue
		}
		v := volume(&w.template.Spec, m.Name)
		if v == nil || v.ConfigMap == nil {
			t.Fatalf("--config %s: mount %q is not a ConfigMap volume", path, m.Name)
		}
		cm := w.configs[v.ConfigMap.Name]
		if cm == nil {
			t.Fatalf("ConfigMap %q is not in the same file", v.ConfigMap.Name)
		}
		raw, ok := cm.Data[filepath.Base(path)]
		if !ok {
			t.Fatalf("ConfigMap %q has no key %q", cm.Name, filepath.Base(path))
		}
		if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
			t.Fatalf("ConfigMap %q: %v", cm.Name, err)
		}
		return raw, cfg
	}
	t.Fatalf("--config %s: no volume mounted at %s", path, filepath.Dir(path))
	return "", cfg
}

func volume(spec *corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

// mountFor returns the mount of c that holds path.
func mountFor(c *corev1.Container, path string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if path == m.MountPath || strings.HasPrefix(path, m.MountPath+"/") {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func TestWorkloads(t *testing.T) {
	for _, w := range workloads(t) {
		t.Run(w.name, func(t *testing.T) {
			spec := &w.template.Spec
			c, native := adapter(spec)
			if c == nil {
				t.Fatalf("no container named %q", adapterName)
			}
			_, cfg := w.config(t, c)
			check := func(name string, ok bool, format string, args ...any) {
				t.Helper()
				if !ok {
					t.Errorf("%s: "+format, append([]any{name}, args...)...)
				}
			}

			if native {
				check("native sidecar", c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways,
					"an init container needs restartPolicy: Always to be a sidecar")
				check("native sidecar startup probe", c.StartupProbe != nil && c.StartupProbe.HTTPGet != nil && c.StartupProbe.HTTPGet.Path == "/readyz",
					"the app should start once the adapter's sources are open")
			}
			check("shareProcessNamespace", spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace, "want true, for process info")
			check("automountServiceAccountToken", spec.AutomountServiceAccountToken != nil && !*spec.AutomountServiceAccountToken,
				"want false: the adapter never talks to the API server")

			wantEnv := map[string]string{"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace", "POD_UID": "metadata.uid", "NODE_NAME": "spec.nodeName",
				"POD_APP_NAME": "metadata.labels['app.kubernetes.io/name']"}
			for _, e := range c.Env {
				if want, ok := wantEnv[e.Name]; ok {
					check("env "+e.Name, e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == want, "want the downward API field %s", want)
					delete(wantEnv, e.Name)
				}
			}
			check("downward-API env", len(wantEnv) == 0, "missing %v", wantEnv)

			// Hardening of every container: the app in the example is held to the same bar.
			for _, ct := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
				sc := ct.SecurityContext
				name := "container " + ct.Name
				if sc == nil {
					t.Errorf("%s: no securityContext", name)
					continue
				}
				check(name+" readOnlyRootFilesystem", sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "want true")
				check(name+" allowPrivilegeEscalation", sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "want false")
				check(name+" privileged", sc.Privileged == nil || !*sc.Privileged, "want unset or false")
				check(name+" capabilities", sc.Capabilities != nil && slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) && len(sc.Capabilities.Add) == 0,
					"want drop [ALL] and nothing added")
				runAsNonRoot := sc.RunAsNonRoot
				if runAsNonRoot == nil && spec.SecurityContext != nil {
					runAsNonRoot = spec.SecurityContext.RunAsNonRoot
				}
				check(name+" runAsNonRoot", runAsNonRoot != nil && *runAsNonRoot, "want true")
				seccomp := sc.SeccompProfile
				if seccomp == nil && spec.SecurityContext != nil {
					seccomp = spec.SecurityContext.SeccompProfile
				}
				check(name+" seccompProfile", seccomp != nil && seccomp.Type == corev1.SeccompProfileTypeRuntimeDefault, "want RuntimeDefault")
				check(name+" resources", ct.Resources.Requests.Cpu().Sign() > 0 && ct.Resources.Requests.Memory().Sign() > 0 &&
					ct.Resources.Limits.Cpu().Cmp(*ct.Resources.Requests.Cpu()) >= 0 && ct.Resources.Limits.Memory().Cmp(*ct.Resources.Requests.Memory()) >= 0,
					"want cpu and memory requests, and limits at least as large")
			}
			check("runAsUser", c.SecurityContext.RunAsUser != nil && *c.SecurityContext.RunAsUser == 65532, "want the image's 65532")

			var port *corev1.ContainerPort
			for i := range c.Ports {
				if c.Ports[i].Name == "metrics" {
					port = &c.Ports[i]
				}
			}
			check("metrics port", port != nil && port.ContainerPort == metricsPort, "want a port named metrics = %d", metricsPort)
			check("http.listen", cfg.HTTP.Listen == fmt.Sprintf(":%d", metricsPort), "%q does not serve the probes' port", cfg.HTTP.Listen)
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{{"readinessProbe", c.ReadinessProbe, "/readyz"}, {"livenessProbe", c.LivenessProbe, "/healthz"}} {
				check(p.name, p.probe != nil && p.probe.HTTPGet != nil && p.probe.HTTPGet.Path == p.path &&
					(p.probe.HTTPGet.Port.String() == "metrics" || p.probe.HTTPGet.Port.IntValue() == metricsPort),
					"want GET %s on the metrics port", p.path)
			}
			ann := w.template.Annotations
			check("prometheus.io annotations", ann["prometheus.io/scrape"] == "true" && ann["prometheus.io/port"] == fmt.Sprint(metricsPort) && ann["prometheus.io/path"] == "/metrics",
				"want scrape true, port %d, path /metrics; got %v", metricsPort, ann)

			// Every mount names a volume; hostPaths are read-only; the state dir is the one
			// writable mount, an emptyDir, and is the config's state_dir.
			for _, m := range c.VolumeMounts {
				v := volume(spec, m.Name)
				if v == nil {
					t.Errorf("mount %s: no volume %q", m.MountPath, m.Name)
					continue
				}
				if v.HostPath != nil {
					check("hostPath "+m.MountPath, m.ReadOnly && v.HostPath.Path == "/var/log/pods", "want only /var/log/pods, mounted read-only")
				}
				if !m.ReadOnly {
					check("writable mount "+m.MountPath, m.MountPath == stateMount && v.EmptyDir != nil, "the only writable mount is the state emptyDir at %s", stateMount)
				}
			}
			check("state_dir", cfg.StateDir == stateMount && mountFor(c, stateMount) != nil, "config says %q; want %s, mounted", cfg.StateDir, stateMount)

			// What the sources read must be mounted.
			for _, s := range cfg.Sources {
				var dirs []string
				switch s.Type {
				case "file":
					for _, g := range s.Include {
						dirs = append(dirs, filepath.Dir(g))
					}
				case "pod":
					dirs = append(dirs, orDefault(s.LogsDir, "/var/log/pods"))
				}
				for _, d := range dirs {
					m := mountFor(c, d)
					check("source "+s.Name, m != nil && m.ReadOnly, "reads %s, which is not mounted read-only", d)
				}
			}

			grace, err1 := time.ParseDuration(cfg.Shutdown.GracePeriod)
			drain, err2 := time.ParseDuration(cfg.Shutdown.DrainTimeout)
			tgp := spec.TerminationGracePeriodSeconds
			// The adapter exits within grace_period + drain_timeout (exporters'
			// close and the last checkpoint included); 5 s more keep the
			// SIGKILL clear of the final checkpoint.
			check("terminationGracePeriodSeconds", err1 == nil && err2 == nil && tgp != nil && time.Duration(*tgp)*time.Second >= grace+drain+5*time.Second,
				"must be at least shutdown.grace_period + shutdown.drain_timeout + 5s (%s + %s + 5s)", cfg.Shutdown.GracePeriod, cfg.Shutdown.DrainTimeout)

			if w.job {
				check("Job", native, "a classic sidecar keeps a Job's pod from completing; use a native sidecar")
				check("Job restartPolicy", spec.RestartPolicy == corev1.RestartPolicyNever || spec.RestartPolicy == corev1.RestartPolicyOnFailure,
					"a Job's pod needs Never or OnFailure, got %q", spec.RestartPolicy)
				return // a short-lived pod is scraped through the PodMonitor, not a Service
			}
			// The metrics Service selects this pod and names the port the ServiceMonitor uses.
			found := false
			for _, s := range w.svcs {
				if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(w.template.Labels)) {
					found = slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool {
						return p.Name == "metrics" && p.Port == metricsPort && p.TargetPort.String() == "metrics"
					})
				}
			}
			check("Service", found, "no Service in the file selects the pod with a metrics port")
		})
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestMonitorsSelectEverySidecar(t *testing.T) {
	all := manifests(t)
	var sm *monitoringv1.ServiceMonitor
	var pm *monitoringv1.PodMonitor
	for _, objs := range all {
		for _, o := range objs {
			switch v := o.obj.(type) {
			case *monitoringv1.ServiceMonitor:
				sm = v
			case *monitoringv1.PodMonitor:
				pm = v
			}
		}
	}
	if sm == nil || pm == nil {
		t.Fatal("want a ServiceMonitor and a PodMonitor under kubernetes/prometheus/")
	}
	smSel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	pmSel, err := metav1.LabelSelectorAsSelector(&pm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !sm.Spec.NamespaceSelector.Any || !pm.Spec.NamespaceSelector.Any {
		t.Error("monitors should look in every namespace: the sidecar runs beside apps anywhere")
	}
	for _, w := range workloads(t) {
		t.Run(w.name, func(t *testing.T) {
			if !pmSel.Matches(labels.Set(w.template.Labels)) {
				t.Errorf("the PodMonitor does not select the pod (labels %v)", w.template.Labels)
			}
			if len(pm.Spec.PodMetricsEndpoints) == 0 || pm.Spec.PodMetricsEndpoints[0].Port == nil || *pm.Spec.PodMetricsEndpoints[0].Port != "metrics" {
				t.Error("the PodMonitor should scrape the port named metrics")
			}
			if w.job {
				return
			}
			selected := slices.ContainsFunc(w.svcs, func(s *corev1.Service) bool { return smSel.Matches(labels.Set(s.Labels)) })
			if !selected {
				t.Error("the ServiceMonitor selects none of the file's Services")
			}
			if len(sm.Spec.Endpoints) == 0 || sm.Spec.Endpoints[0].Port != "metrics" {
				t.Error("the ServiceMonitor should scrape the port named metrics")
			}
		})
	}
}

// TestConfigMapsPassCheckConfig hands each workload's obsadapter config to the adapter's own
// check-config, with the downward-API environment a pod would have.
func TestConfigMapsPassCheckConfig(t *testing.T) {
	ws := workloads(t)
	bin := adapterbin.Build(t)
	for _, w := range ws {
		t.Run(w.name, func(t *testing.T) {
			c, _ := adapter(&w.template.Spec)
			raw, _ := w.config(t, c)
			file := filepath.Join(t.TempDir(), configKey)
			if err := os.WriteFile(file, []byte(raw), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "check-config", "--config", file)
			cmd.Env = []string{"POD_NAME=demo-0", "POD_NAMESPACE=default", "POD_UID=00000000-0000-0000-0000-000000000000", "NODE_NAME=node-1"}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
				}
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("obsadapter check-config: %v\n%s", err, out)
			}
		})
	}
}

func TestFluentdConfigMatchesAdapter(t *testing.T) {
	conf, err := os.ReadFile("kubernetes/fluentd/fluent.conf")
	if err != nil {
		t.Fatal(err)
	}
	active := stripComments(string(conf))
	source := regexp.MustCompile(`(?s)<source>(.*?)</source>`).FindStringSubmatch(active)
	if source == nil || !regexp.MustCompile(`(?m)^\s*@type forward\s*$`).MatchString(source[1]) {
		t.Fatal("fluent.conf has no <source> @type forward")
	}
	port := regexp.MustCompile(`(?m)^\s*port (\d+)\s*$`).FindStringSubmatch(source[1])
	if port == nil {
		t.Fatal("the forward source sets no port")
	}
	match := regexp.MustCompile(`(?m)^<match ([^>]+)>`).FindStringSubmatch(active)
	if match == nil {
		t.Fatal("fluent.conf has no <match>")
	}
	for _, w := range workloads(t) {
		c, _ := adapter(&w.template.Spec)
		_, cfg := w.config(t, c)
		fl := cfg.Exporters.Fluent
		if !fl.Enabled {
			continue
		}
		addr := fl.Address
		for _, e := range c.Env {
			addr = strings.ReplaceAll(addr, "${"+e.Name+"}", e.Value)
		}
		if !strings.HasSuffix(addr, ":"+port[1]) {
			t.Errorf("%s: the adapter sends to %q, Fluentd listens on port %s", w.name, addr, port[1])
		}
		if prefix, _, _ := strings.Cut(fl.Tag, "{"); strings.TrimSuffix(match[1], "**") != prefix {
			t.Errorf("%s: tag %q is not matched by <match %s>", w.name, fl.Tag, match[1])
		}
	}
	if strings.Contains(active, "<security>") && !strings.Contains(active, "shared_key") {
		t.Error("a <security> section without shared_key")
	}
}

// TestPrometheusScrapeConfig checks the prometheus.yml snippet with the real promtool. Debian's
// Prometheus is built without Kubernetes service discovery, so the discovery block is swapped for a
// static target; every relabel rule is still parsed and compiled.
func TestPrometheusScrapeConfig(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		missingPeer(t, "promtool not installed (Debian package prometheus; CI installs it)")
	}
	data, err := os.ReadFile("kubernetes/prometheus/scrape-config.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("- role: pod")) {
		t.Fatal("the scrape config does not discover pods")
	}
	static := bytes.ReplaceAll(data, []byte("kubernetes_sd_configs:"), []byte("static_configs:"))
	static = bytes.ReplaceAll(static, []byte("- role: pod"), []byte(`- targets: ["127.0.0.1:9725"]`))
	file := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(file, static, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "config", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	adapterbin.Cleanup()
	os.Exit(code)
}
