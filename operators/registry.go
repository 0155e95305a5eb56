package operators

import "github.com/rasterflow/rasterflow/op"

// Registry returns a registry holding every operator.
func Registry() *op.Registry {
	r := op.NewRegistry()
	for _, s := range []*op.Spec{synthSpec, indicesSpec, statsSpec, cogReadSpec, cogWriteSpec, maskSpec, sampleSpec, rfTrainSpec, rfPredictSpec, previewSpec,
		stacSearchSpec, stacPollSpec, watchSpec, natsSpec} {
		r.Register(s)
	}
	return r
}
