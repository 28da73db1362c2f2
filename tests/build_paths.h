// Where the build put what the tests and benchmarks run: the polyarch binary, the probes, and
// the source tree (schemas, golden files). They are defined in one generated file
// (<build>/generated/build_paths.cc, see the top-level CMakeLists.txt) rather than as compile
// definitions, so that no other object file carries an absolute path and a compiler cache
// hits for a checkout in any folder.
#ifndef POLYARCH_TESTS_BUILD_PATHS_H_
#define POLYARCH_TESTS_BUILD_PATHS_H_

namespace polyarch::testing {

extern const char kPolyarchBinary[];  // <build>/polyarch
extern const char kProbeDir[];        // <build>/probe, holding <arch>/probe
extern const char kSourceDir[];       // the checkout

}  // namespace polyarch::testing

#endif  // POLYARCH_TESTS_BUILD_PATHS_H_
