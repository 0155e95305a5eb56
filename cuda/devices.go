package cuda

import (
	"fmt"
	"sync"
)

// Devices is the set of GPUs one process uses: the driver is loaded and the
// devices are listed once, and each device is opened at first use and
// shared by every operator. The zero value is not usable; use OpenDevices.
// A Devices with no GPU (no driver, no device) reports Count 0 and why.
type Devices struct {
	drv      *Driver
	infos    []DeviceInfo
	reason   string
	unusable bool // GPUs present but no NVRTC
	opt      DeviceOptions

	mu   sync.Mutex
	open map[int]*Device
}

// OpenDevices loads the driver and lists the devices. It never fails: when
// there is no usable GPU, Count is 0 and Reason says why.
func OpenDevices(opt DeviceOptions) *Devices {
	d := &Devices{opt: opt, open: map[int]*Device{}}
	drv, err := Load()
	if err != nil {
		d.reason = err.Error()
		return d
	}
	infos, err := drv.Devices()
	if err != nil {
		d.reason = err.Error()
		return d
	}
	d.drv, d.infos = drv, infos
	switch _, nerr := drv.NVRTC(); {
	case len(infos) == 0:
		d.reason = "cuda: the driver reports no devices"
	case nerr != nil:
		// Without NVRTC no kernel can be built: the GPUs are listed but
		// not used, so device: auto runs on the CPU.
		d.reason = fmt.Sprintf("cuda: %d GPU(s) present but unusable: %v", len(infos), nerr)
		d.unusable = true
	}
	return d
}

// Count is the number of usable GPUs: 0 when there is no driver, no
// device, or no NVRTC to compile the kernels (Infos still lists them).
func (d *Devices) Count() int {
	if d == nil || d.unusable {
		return 0
	}
	return len(d.infos)
}

// Reason says why there is no GPU ("" when there is one).
func (d *Devices) Reason() string {
	if d == nil {
		return "cuda: no devices configured"
	}
	return d.reason
}

// Infos describes the GPUs the driver reports, usable or not.
func (d *Devices) Infos() []DeviceInfo {
	if d == nil {
		return nil
	}
	return d.infos
}

// Get opens (once) and returns GPU ordinal.
func (d *Devices) Get(ordinal int) (*Device, error) {
	if ordinal < 0 || ordinal >= d.Count() {
		return nil, fmt.Errorf("cuda: no GPU %d (%d present%s)", ordinal, d.Count(), suffix(d.Reason()))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if dv, ok := d.open[ordinal]; ok {
		return dv, nil
	}
	dv, err := d.drv.Open(ordinal, d.opt)
	if err != nil {
		return nil, err
	}
	d.open[ordinal] = dv
	return dv, nil
}

func suffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// Close closes every opened device.
func (d *Devices) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var first error
	for i, dv := range d.open {
		if err := dv.Close(); err != nil && first == nil {
			first = err
		}
		delete(d.open, i)
	}
	return first
}

// Opened lists the devices opened so far, by ordinal.
func (d *Devices) Opened() map[int]*Device {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[int]*Device, len(d.open))
	for i, dv := range d.open {
		out[i] = dv
	}
	return out
}
