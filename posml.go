// Package posml holds the vocabulary shared by every part of posml: the error
// kinds, and the Diagnostic that validation reports. It imports only the
// standard library and must stay free of behaviour.
package posml
