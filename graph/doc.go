// Package graph reads pipeline files, validates them and compiles them into
// a stage graph.
//
// A pipeline file is YAML:
//
//	pipeline: name
//	stages:
//	  - id: scene            # unique stage id
//	    op: synth            # a registered operator
//	    with: {size: 4096}   # the operator's settings
//	  - id: ndvi
//	    op: indices
//	    in: scene            # one upstream id, or a list (fan-in)
//	    replicas: 2          # parallel workers
//	    device: auto         # for operators that can use a GPU
//	    with: {indices: [ndvi]}
//
// Scalars may use ${VAR} and ${VAR:default}; VAR comes from --set VAR=value,
// then the environment. A value that is only ${VAR} takes the type of what
// it becomes (${n:4} is an integer, ${ix:[ndvi, ndwi]} a list); inside a
// flow mapping or list write it quoted ({size: "${size:4096}"}), since
// YAML reads the braces there. --set STAGE.SETTING=value overrides one
// setting; its value is YAML ([ndvi, ndwi], 4096), except for string
// settings, which take it literally. A --set that neither a ${VAR} nor a
// stage uses is a problem (usually a typo). Anchors, aliases and merge keys
// (<<: *defaults) are expanded before validation.
//
// Every problem is reported with file:line:col (--set problems with the
// file alone) and, where one helps, a hint ("did you mean ..."), sorted by
// position. Validation covers the YAML syntax, the file's shape, operators
// and settings against their specs (types, bounds, enums, required), the
// `in` references (unknown, repeated, self, cycles with their path) and, once
// all that is clean, data flow in topological order: each operator's Flow
// checks that its input has the columns it needs (reported at the setting
// that asks for them), and each stage's chunks must fit the transport's
// message limit (Options.MaxPayload).
package graph
