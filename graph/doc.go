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
// then the environment. --set STAGE.SETTING=value overrides one setting.
//
// Every problem is reported with file:line:col and, where one helps, a hint
// ("did you mean ..."). Validation covers the YAML shape, operators and
// settings against their specs, the `in` references (unknown, duplicate,
// cyclic) and data flow: each operator's Flow checks that its input has the
// columns it needs and the chunk size fits the transport's message limit.
package graph
