package op

import (
	"fmt"
	"sort"
	"time"
)

// Config holds a stage's settings after parsing: every field of the spec
// has a value (given or default) of the field's Go type: string, int,
// float64, bool, time.Duration, []string or map[string]string.
type Config struct {
	values map[string]any
	set    map[string]bool
}

// NewConfig makes a config from already-typed values; fields absent from
// values take their defaults. It is how tests and code build configs
// without YAML.
func NewConfig(spec *Spec, values map[string]any) (*Config, error) {
	c := &Config{values: map[string]any{}, set: map[string]bool{}}
	for k, v := range values {
		f, ok := spec.Field(k)
		if !ok {
			return nil, fmt.Errorf("op: %s has no setting %q", spec.Name, k)
		}
		if err := checkType(f, v); err != nil {
			return nil, fmt.Errorf("op: %s: %w", spec.Name, err)
		}
		c.values[k] = v
		c.set[k] = true
	}
	for _, f := range spec.Fields {
		if _, ok := c.values[f.Name]; ok {
			continue
		}
		if f.Required {
			return nil, fmt.Errorf("op: %s: missing required setting %q", spec.Name, f.Name)
		}
		c.values[f.Name] = zeroOrDefault(f)
	}
	return c, nil
}

func zeroOrDefault(f Field) any {
	if f.Default != nil {
		return f.Default
	}
	switch f.Type {
	case Int:
		return 0
	case Float:
		return 0.0
	case Bool:
		return false
	case Duration:
		return time.Duration(0)
	case Strings:
		return []string(nil)
	case Map:
		return map[string]string(nil)
	}
	return ""
}

func checkType(f Field, v any) error {
	ok := false
	switch f.Type {
	case String:
		_, ok = v.(string)
	case Int:
		_, ok = v.(int)
	case Float:
		_, ok = v.(float64)
	case Bool:
		_, ok = v.(bool)
	case Duration:
		_, ok = v.(time.Duration)
	case Strings:
		_, ok = v.([]string)
	case Map:
		_, ok = v.(map[string]string)
	}
	if !ok {
		return fmt.Errorf("setting %q: want %s, got %T", f.Name, f.Type, v)
	}
	return nil
}

// IsSet reports whether the setting was given explicitly.
func (c *Config) IsSet(name string) bool { return c.set[name] }

func (c *Config) get(name string) any {
	v, ok := c.values[name]
	if !ok {
		panic(fmt.Sprintf("op: no setting %q in spec", name))
	}
	return v
}

// String returns a string setting.
func (c *Config) String(name string) string { return c.get(name).(string) }

// Int returns an int setting.
func (c *Config) Int(name string) int { return c.get(name).(int) }

// Float returns a float setting.
func (c *Config) Float(name string) float64 { return c.get(name).(float64) }

// Bool returns a bool setting.
func (c *Config) Bool(name string) bool { return c.get(name).(bool) }

// Duration returns a duration setting.
func (c *Config) Duration(name string) time.Duration { return c.get(name).(time.Duration) }

// Strings returns a list setting.
func (c *Config) Strings(name string) []string { return c.get(name).([]string) }

// Map returns a map setting.
func (c *Config) Map(name string) map[string]string { return c.get(name).(map[string]string) }

// Keys lists the settings that were given, sorted.
func (c *Config) Keys() []string {
	var out []string
	for k := range c.set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
