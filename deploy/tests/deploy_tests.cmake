# Tests of the Kubernetes deployment in deploy/ (docs/fleet.md), label "deploy". Included by
# tests/CMakeLists.txt.
#
# deploy_manifests: every manifest validated offline against the Kubernetes API schema
# (Debian's python3-kubernetes, unpacked by ci/setup.sh) and the deployment's contract, and
# broken copies rejected. Reads files only, so it runs beside everything else.
add_test(NAME deploy_manifests
         COMMAND python3 ${PROJECT_SOURCE_DIR}/deploy/tests/validate_manifests.py
                 --self-test ${PROJECT_SOURCE_DIR}/deploy)
set_tests_properties(deploy_manifests PROPERTIES LABELS "deploy" TIMEOUT 120)

# deploy_image: builds the image (deploy/image/build.sh) from this tree's polyarch and runs it
# under a private podman with the manifests' privileges. It drives the real stack and
# binfmt_misc, hence the resource lock. Only in builds without sanitizers: the image carries
# the build's polyarch, and a sanitizer build's would need its runtime libraries in the image
# (another base root file system) to test nothing the default build does not.
if(NOT POLYARCH_SANITIZERS)
  add_test(NAME deploy_image
           COMMAND bash ${PROJECT_SOURCE_DIR}/deploy/tests/image_test.sh ${PROJECT_BINARY_DIR})
  # A cold image cache bootstraps Debian packages first (about 1 to 2 minutes more).
  set_tests_properties(deploy_image PROPERTIES LABELS "privileged;deploy" RESOURCE_LOCK stack
                       TIMEOUT 1500)
  if(POLYARCH_ALLOW_SKIPS)
    set_tests_properties(deploy_image PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endif()
