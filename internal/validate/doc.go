// Package validate checks a whole project the way `posml validate`, the
// project registry and the UI all do: config (projectconfig), template rules
// (rules) and a schedule preview (schedule). It only combines those packages;
// it has no rules of its own.
package validate
