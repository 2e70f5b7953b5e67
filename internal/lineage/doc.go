// Package lineage is the vocabulary of attribution: who a tracking request
// acts for (a Caller: a pipeline run holding a run token), which project owns
// an experiment or a registered model (a Claim), and what promotion decided
// for a registered model after a train run (a Decision).
//
// It holds types only and imports nothing of posml but pipeline; the store
// (sqlstore), the token issuer (auth), the MLflow API middleware (mlflowapi)
// and the promoter (promotion) share it.
package lineage
