// Package deploy holds no code of cnsgate's: it is where an operator finds
// the container image (container/), the Helm chart (helm/cnsgate), the
// compose topology (compose/), the HAProxy and nginx fronts, the Prometheus
// alert rules and the Grafana dashboard; its tests prove them. They build
// and run the image with podman, lint and render the chart with helm and
// check the rendered manifests, and check the compose file against the
// HAProxy front. The three-replica topology itself runs, without
// containers, in cmd/cnsgate's TestRollingRestartBehindHAProxy.
//
// # Files
//
//	doc.go          this map
//	tools_test.go   the commands the tests run: podman (scripts/podman.sh), helm built from the Go module proxy
//	image_test.go   make image's path: the image built FROM scratch, --help, serve and demo with a read-only root
//	helm_test.go    helm lint and helm template with each values file; the rendered manifests checked
//	compose_test.go the compose file against the HAProxy front it mounts and the configuration cnsgate loads
package deploy
