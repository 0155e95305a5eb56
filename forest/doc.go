// Package forest is a pure-Go random forest classifier for pixels: float32
// feature columns (bands, spectral indices) and uint8 class codes (WorldCover
// 10..100, Landsat classes 1..7, ...). It aims at scikit-learn's
// RandomForestClassifier accuracy at a fraction of its time.
//
// # Training
//
//	p := forest.DefaultParams()   // 100 trees, sqrt features, bootstrap, 256 bins
//	p.Trees, p.MaxDepth, p.Seed = 50, 16, 42
//	m, err := forest.Train(ctx, forest.Dataset{Features: names, X: cols, Y: labels}, p)
//
// Split finding is histogram based: every feature gets at most Params.Bins
// quantile bin edges, computed once from the data (exact midpoints between
// distinct values when a feature has no more distinct values than bins, as
// for uint8 DN bands), and the samples are binned once to a uint8 matrix.
// Trees then grow depth-first with the Gini criterion; at every node up to
// max_features features are drawn without replacement (constant ones do not
// count, as in scikit-learn), min_samples_leaf counts distinct samples, and
// bootstrap draws become integer sample weights, multiplied by the
// class_weight ("balanced": n/(k·count)). Trees are built in parallel, one
// goroutine per tree at a time (no parallelism inside a tree: with fewer
// trees than workers some cores idle), each with its own random stream seeded from
// (Seed, tree index), so a model is byte-for-byte reproducible whatever
// Workers or GOMAXPROCS. Memory: samples × features bytes for the binned
// matrix plus about 13 bytes per sample per worker.
//
// # Prediction
//
// Model.Predict classifies column-major rows in parallel blocks of up to
// 65536 rows. A block is first binned (each value becomes the number of the
// model's thresholds for that feature below it; at most 255 per feature),
// then pushed through one tree at a time. On CPUs with AVX-512 (F, BW,
// VBMI), for models of at most 8 features and 16 classes, the trees are
// compiled to 4-byte nodes (threshold bin, feature, child) renumbered
// breadth first, and an assembly kernel walks 80 rows at a time, 16 per
// vector: node gathers (the first seven levels from registers), the rows'
// bins picked with byte permutes, one unsigned compare per level; each tree's
// distinct leaf probability rows get self-looping "sink" nodes, so every
// walk is depth+1 branch-free steps ending on the row to add. Elsewhere a
// portable Go walk (eight rows at a time, 8-byte nodes, leaves looping on
// themselves) does the same. Both sum the probabilities in tree order, so
// their results are bit for bit those of a plain walk over the stored
// float nodes (TestPredictMatchesReference). The stored form keeps float32
// thresholds (16-byte nodes: feature, threshold, left child, leaf row).
// Probabilities are the mean over trees of the leaf class distributions
// (scikit-learn's predict_proba) and the class is their argmax, ties to the
// lowest class code. A row goes left when x <= threshold; NaN goes left
// (the comparison "x > threshold" is false), and NaN is binned with the
// lowest values during training for the same reason. Callers that treat NaN
// or other nodata as "no prediction" must mask those pixels themselves.
//
// # Model files
//
// MarshalBinary / Load / ReadFile / WriteFile (atomic: temporary file then
// rename) use a versioned little-endian format: magic "RFFOREST", version,
// a JSON header (feature names in order, class codes, hyper-parameters,
// training info, optional metrics JSON from SetMetrics), the trees, and a
// CRC-32 of everything. Load treats the file as untrusted: it checks the
// checksum, every count against the bytes left before allocating, every node
// index (children strictly after their parent, so walks terminate) and
// every probability, refuses more than 255 distinct thresholds per feature
// (prediction works on bin indices), and never panics. WriteJSON writes a readable dump.
// CheckFeatures / FeatureIndex match a model's features with the columns a
// caller has, naming the missing ones. WriteONNX exports an ai.onnx.ml
// TreeEnsembleClassifier.
//
// # Evaluation and sampling
//
// Evaluate computes overall accuracy, Cohen's kappa, a confusion matrix and
// per-class precision, recall, F1 and support (scikit-learn's definitions,
// zero_division=0). Sampler keeps a per-class reservoir (Algorithm R) over
// data that arrives chunk by chunk and splits it into stratified training
// and validation Datasets.
//
// Errors are prefixed "forest:" and wrap ErrParams, ErrDataset, ErrShape,
// ErrFeatures or ErrFormat.
package forest
