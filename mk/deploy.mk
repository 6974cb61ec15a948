# Container image and Helm chart (deploy/): included by the Makefile.
#
#   make image          builds deploy/Containerfile with podman or docker, whichever works
#                       here (IMAGE=localhost/feedback-server:dev, ENGINE=podman|docker);
#                       says so and fails when there is no engine
#   make image-local    deploy/build-local-image.sh: the image on a Debian base made by
#                       mmdebstrap, built with rootless podman, then run once (size, start time)
#   make test-deploy    the chart's and the image files' tests (pytest -m deploy): helm lint,
#                       helm template, Kubernetes and CRD schemas, policies
#   make chart          renders the chart to var/chart.yaml (CHART_ARGS="--set mlflow.trackingUri=...")
#
# helm and the CRDs are pinned in deploy/tools.sh and installed into var/tools on first use.
.PHONY: image image-local test-deploy chart

image:
	deploy/image.sh build $(IMAGE_ARGS)

image-local: $(STAMP)
	deploy/build-local-image.sh

test-deploy: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m deploy tests/deploy $(PYTEST_ARGS)

chart:
	mkdir -p var
	"$$(deploy/tools.sh helm)" template feedback deploy/helm/feedback-service \
	  $(or $(CHART_ARGS),--set mlflow.trackingUri=http://mlflow:5000) > var/chart.yaml
	@echo "var/chart.yaml"
