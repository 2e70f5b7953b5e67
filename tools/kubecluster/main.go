// Command kubecluster is a multi-call binary with everything scripts/kube.sh
// needs to run a small, real Kubernetes control plane for posml's tests:
//
//	kubecluster etcd --data-dir DIR --client-url URL --peer-url URL
//	kubecluster apiserver ...           (kube-apiserver flags)
//	kubecluster controller-manager ...  (kube-controller-manager flags)
//	kubecluster scheduler ...           (kube-scheduler flags)
//	kubecluster kwok ...                (kwok controller flags)
//	kubecluster kwok-stages             (prints kwok's default stages as a --config file)
//	kubecluster pki --dir D             (CA, serving cert, service-account key, admin token, kubeconfig)
//	kubecluster setup --kubeconfig F    (creates the fake nodes, waits until the cluster is usable)
//	kubecluster check --kubeconfig F    (self-test: Job completes, GPU overcommit, cascading delete)
//
// One binary instead of five keeps the build (and the cache) small: the
// Kubernetes packages are compiled and linked once.
package main

import (
	"fmt"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	_ "time/tzdata"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kubecluster etcd|apiserver|controller-manager|scheduler|kwok|kwok-stages|pki|setup|check [flags]")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	sub := os.Args[1]
	// The Kubernetes commands parse os.Args[1:] themselves.
	os.Args = append([]string{"kubecluster-" + sub}, os.Args[2:]...)
	switch sub {
	case "apiserver":
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	case "controller-manager":
		os.Exit(cli.Run(controllermanager.NewControllerManagerCommand()))
	case "scheduler":
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	case "etcd":
		os.Exit(runEtcd(os.Args[1:]))
	case "kwok":
		os.Exit(runKwok())
	case "kwok-stages":
		os.Exit(printKwokStages())
	case "pki":
		os.Exit(runPKI(os.Args[1:]))
	case "setup":
		os.Exit(runSetup(os.Args[1:]))
	case "check":
		os.Exit(runCheck(os.Args[1:]))
	default:
		usage()
	}
}
