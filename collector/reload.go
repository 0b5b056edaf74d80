package collector

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/obsadapter/obsadapter/processors"
)

// Reload reads the config file again and applies it. Sources that did not
// change keep running and keep their positions; those whose processors
// alone changed (theirs or the global list) keep running too and switch
// chains at their next batch; other changed ones restart from
// their acknowledged positions; removed ones stop and keep their checkpoint
// entries in case they return. Other sections need a restart, so a config
// that changes them is rejected whole. A rejected config changes nothing:
// the running one goes on, and the reason is returned and logged.
func (c *Collector) Reload() error {
	err := c.reload()
	if err != nil {
		c.metrics.reloads.WithLabelValues("failure").Inc()
		c.logger.Error("config reload rejected; the running config stays", "err", err)
		return err
	}
	c.metrics.reloads.WithLabelValues("success").Inc()
	return nil
}

func (c *Collector) reload() error {
	if !c.ready.Load() {
		return errors.New("reload: not running")
	}
	if c.opts.ConfigPath == "" {
		return errors.New("reload: running on the embedded default, there is no file to reload")
	}
	cfg, err := LoadConfig(c.opts.ConfigPath)
	if err != nil {
		return err
	}
	if c.opts.Override != nil {
		c.opts.Override(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	a, b := c.cfg, cfg
	a.Sources, b.Sources = nil, nil
	a.Processors, b.Processors = nil, nil
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("reload: only sources and processors can change without a restart; these sections changed: %v", changedSections(a, b))
	}

	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	old := map[string]*runningSource{}
	c.mu.Lock()
	for _, s := range c.sources {
		old[s.cfg.Name] = s
	}
	globalSame := reflect.DeepEqual(c.cfg.Processors, cfg.Processors)
	c.mu.Unlock()
	want := map[string]SourceConfig{}
	for _, sc := range cfg.Sources {
		want[sc.Name] = sc
	}
	// A source whose processors alone changed keeps running and takes its
	// new chain at its next batch: nothing is re-read or lost. Every chain
	// is built before anything changes, so a chain that cannot be built
	// rejects the whole reload.
	type change struct {
		sc    SourceConfig
		chain *processors.Chain
		swap  *runningSource // nil: (re)start the source
	}
	var changes []change
	for _, sc := range cfg.Sources {
		s, existed := old[sc.Name]
		if existed && reflect.DeepEqual(sc, s.cfg) && globalSame {
			continue
		}
		ch := change{sc: sc}
		if existed && sameButProcessors(sc, s.cfg) {
			ch.swap = s
		}
		chain, err := buildChain(sc.Processors, cfg.Processors, cfg.Exporters, c.opts.Clock)
		if err != nil {
			return errChain(sc.Name, err)
		}
		ch.chain = chain
		changes = append(changes, ch)
	}
	var stop []*runningSource
	for name, s := range old {
		if sc, ok := want[name]; !ok || !sameButProcessors(sc, s.cfg) {
			stop = append(stop, s)
		}
	}
	for _, s := range stop {
		c.stopForReload(s)
	}
	started, swapped := 0, 0
	for _, ch := range changes {
		if ch.swap != nil {
			ch.swap.nextChain.Store(&chainSwap{chain: ch.chain})
			c.mu.Lock()
			ch.swap.cfg = ch.sc
			c.mu.Unlock()
			swapped++
			continue
		}
		_, existed := old[ch.sc.Name]
		c.startSourceAt(ch.sc, !existed, ch.chain)
		started++
	}
	c.mu.Lock()
	c.cfg.Sources = cfg.Sources
	c.cfg.Processors = cfg.Processors
	c.mu.Unlock()
	c.logger.Info("config reloaded", "sources_started", started, "sources_stopped", len(stop), "processors_changed", swapped)
	return nil
}

// sameButProcessors reports whether two configs of a source differ at most
// in their processors.
func sameButProcessors(a, b SourceConfig) bool {
	a.Processors, b.Processors = nil, nil
	return reflect.DeepEqual(a, b)
}

// stopForReload stops a source, waits (within the drain timeout) until its
// batches in flight are acknowledged, and keeps its files' positions.
func (c *Collector) stopForReload(s *runningSource) {
	s.cancel()
	<-s.done
	s.status.mu.Lock()
	tracks := s.status.tracks
	s.status.mu.Unlock()
	deadline := c.opts.Clock.NewTimer(c.cfg.Shutdown.DrainTimeout)
	defer deadline.Stop()
wait:
	for _, t := range tracks {
		select {
		case <-t.drained():
		case <-deadline.C():
			break wait
		}
	}
	entries := s.status.checkpoints()
	c.mu.Lock()
	for i, rs := range c.sources {
		if rs == s {
			c.sources = append(c.sources[:i], c.sources[i+1:]...)
			break
		}
	}
	c.restored = append(c.restored, entries...)
	c.mu.Unlock()
}

func changedSections(a, b Config) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := 0; i < t.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name := t.Field(i).Tag.Get("yaml")
			out = append(out, name)
		}
	}
	return out
}
