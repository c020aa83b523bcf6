#!/bin/bash -eu
# ClusterFuzzLite runs this inside its base-builder image with CC, CFLAGS,
# LIB_FUZZING_ENGINE and OUT set; the project's own script does the work.
"$SRC/dllmem/fuzz/build.sh"
