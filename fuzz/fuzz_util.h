// Helpers shared by the fuzz targets: invariant checks and generated seeds.
#ifndef POLYARCH_FUZZ_FUZZ_UTIL_H_
#define POLYARCH_FUZZ_FUZZ_UTIL_H_

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polyarch_fuzz {

// A broken invariant is a bug of the parser, not of the input: print what broke and abort,
// which libFuzzer reports as a crash and keeps the input as an artifact.
[[noreturn]] inline void Fail(const char* condition, const std::string& detail, const char* file,
                              int line) {
  std::fprintf(stderr, "\n*** fuzz invariant broken at %s:%d: %s\n*** %s\n", file, line, condition,
               detail.c_str());
  std::abort();
}

#define FUZZ_CHECK(condition, detail)                                  \
  do {                                                                 \
    if (!(condition)) {                                                \
      ::polyarch_fuzz::Fail(#condition, (detail), __FILE__, __LINE__); \
    }                                                                  \
  } while (0)

inline std::string AsString(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Binary formats (tar, ELF) are poor seeds as committed text files, and a fuzzer cannot find
// a tar header checksum by chance: targets that need them generate their seeds with
// polyarch's own writers at start-up and put them into the first corpus directory given on
// the command line, where libFuzzer itself keeps what it finds. ctest runs the fuzzers on a
// temporary copy of the seeds, so this never writes into the source tree; run by hand on a
// scratch directory too (`fuzzer DIR`), not on fuzz/corpus/.
inline void AddGeneratedSeeds(int argc, char** argv,
                              const std::vector<std::pair<std::string, std::string>>& seeds) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    struct stat st {};
    if (::stat(argv[i], &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    for (const auto& [name, bytes] : seeds) {
      std::string path = std::string(argv[i]) + "/generated-" + name;
      if (::stat(path.c_str(), &st) == 0) continue;
      std::ofstream(path, std::ios::binary) << bytes;
    }
    return;  // the first corpus directory only: the others are read-only inputs
  }
}

}  // namespace polyarch_fuzz

#endif  // POLYARCH_FUZZ_FUZZ_UTIL_H_
