// OCI image documents (manifest, index, config, descriptor) as a user's layout holds them,
// parsed with nlohmann's non-throwing parser the way polyarch reads files.
//
// Invariants: a valid manifest's config and layers, and a valid index's manifests, are each
// valid descriptors; a document's canonical form (what its digest is computed over) is a
// fixed point: parsing and re-serializing it gives the same bytes.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_util.h"
#include "images/oci.h"

using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input = polyarch_fuzz::AsString(data, size);
  const json j = json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;

  if (polyarch::ValidateManifest(j).ok()) {
    FUZZ_CHECK(polyarch::ValidateDescriptor(j["config"], "config").ok(), "bad config descriptor");
    for (const auto& l : j["layers"]) {
      FUZZ_CHECK(polyarch::ValidateDescriptor(l, "layer").ok(), "bad layer descriptor");
    }
  }
  if (polyarch::ValidateIndex(j).ok()) {
    for (const auto& m : j["manifests"]) {
      FUZZ_CHECK(polyarch::ValidateDescriptor(m, "manifest").ok(), "bad manifest descriptor");
    }
  }
  (void)polyarch::ValidateConfig(j);
  (void)polyarch::ValidateDescriptor(j, "fuzz");

  const std::string canonical = polyarch::CanonicalJson(j);
  const json again = json::parse(canonical, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!again.is_discarded(), "canonical JSON does not parse: " + canonical);
  FUZZ_CHECK(polyarch::CanonicalJson(again) == canonical, "canonical JSON is not a fixed point");
  return 0;
}
