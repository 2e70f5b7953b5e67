// Package compat holds no code: its tests check that third-party MLflow
// clients work against posml's tracking server, run as a real process and
// driven over HTTP. The npm client's test project lives in test/mlflowjs.
//
// It must not be imported; its tests depend only on the posml binary, node and
// npm.
package compat
