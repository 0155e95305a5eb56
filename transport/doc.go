// Package transport moves chunks between stages: an Arrow IPC codec for
// chunks, the NATS server and connections (embedded in process by default,
// or external), and credit-based edges that bound in-flight chunks.
//
// Wire format: a data message's body is one Arrow IPC stream (schema with
// rasterflow's metadata, then one record batch). Headers say what a
// message is (HdrKind: data, scene-end, eos), which stage sent it
// (HdrFrom), and for control messages the scene and the number of data
// messages sent for it (HdrScene, HdrCount).
//
// Flow control: an Edge sends data with a reply subject and holds one
// credit per message until the receiver acknowledges it (after processing),
// so at most Window chunks are in flight per edge and a slow stage
// back-pressures its upstream instead of being dropped as a slow consumer.
package transport
