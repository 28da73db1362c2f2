#include "harness/run/expectations.h"

#include <algorithm>
#include <set>

#include "binfmt/arch.h"
#include "harness/core/fs.h"
#include "harness/core/json_read.h"
#include "harness/report/views.h"
#include "harness/run/plan.h"

namespace polyarch {
namespace {

using nlohmann::json;

constexpr const char* kEntryKeys = "cases, layers, arches, reason, reference";

bool HasWildcard(std::string_view s) { return s.find_first_of("*?") != std::string_view::npos; }

// What is wrong with a glob, or "" when nothing is. A whole case id ("suite/layer/arch/name")
// when `whole_id`, else one layer or arch name, which holds no '/'.
std::string GlobProblem(std::string_view g, bool whole_id) {
  if (g.empty()) return "is empty";
  for (char c : g) {
    if (static_cast<unsigned char>(c) < 0x20) return "holds a control character";
    if (std::string_view("[]{}\\").find(c) != std::string_view::npos) {
      return std::string("holds '") + c + "': only '*', '**' and '?' are wildcards here";
    }
  }
  if (g.find("***") != std::string_view::npos) {
    return "holds '***', which is no wildcard: write '*' or '**'";
  }
  if (!whole_id) {
    if (g.find('/') != std::string_view::npos) return "holds '/', which no name holds";
    if (g.find("**") != std::string_view::npos) return "holds '**': within a name, write '*'";
    return "";
  }
  size_t parts = 1;
  size_t start = 0;
  for (size_t slash = g.find('/');; slash = g.find('/', start)) {
    if ((slash == std::string_view::npos ? g.size() : slash) == start) {
      return "has an empty part: a case id is suite/layer/arch/name";
    }
    if (slash == std::string_view::npos) break;
    ++parts;
    start = slash + 1;
  }
  if (parts != 4 && g.find("**") == std::string_view::npos) {
    return "has " + std::to_string(parts) + (parts == 1 ? " part" : " parts") +
           " where a case id has four, suite/layer/arch/name (or use '**', which spans '/')";
  }
  return "";
}

// The layers a case can name: the ones a plan selects, the null driver's, and "harness" (the
// fault scenarios that target polyarch itself).
bool KnownCaseLayer(const std::string& name) {
  const auto& known = KnownLayers();  // canonical names only: a case id never has an alias
  return name == "null" || name == "harness" ||
         std::find(known.begin(), known.end(), name) != known.end();
}

// Records, while nlohmann parses, the first key given twice in one object: its default is to
// keep the last silently, and an entry with two "cases" would then match something else than
// one of them says.
class DuplicateKeys {
 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        // An entry: an object in the array that is the value of a top-level key.
        if (kinds_ == "oa") ++entry_;
        kinds_ += 'o';
        keys_.emplace_back();
        break;
      case json::parse_event_t::array_start:
        kinds_ += 'a';
        break;
      case json::parse_event_t::object_end:
        keys_.pop_back();
        kinds_.pop_back();
        break;
      case json::parse_event_t::array_end:
        kinds_.pop_back();
        break;
      case json::parse_event_t::key:
        if (duplicate_.empty() && parsed.is_string() &&
            !keys_.back().insert(parsed.get<std::string>()).second) {
          duplicate_ = parsed.get<std::string>();
          duplicate_entry_ = kinds_ == "oao" ? entry_ : 0;
        }
        break;
      case json::parse_event_t::value:
        break;
    }
    return true;
  }

  const std::string& duplicate() const { return duplicate_; }
  int duplicate_entry() const { return duplicate_entry_; }  // 0: not in an entry

 private:
  std::string kinds_;  // 'o' object, 'a' array, outermost first
  std::vector<std::set<std::string>> keys_;
  int entry_ = 0;
  std::string duplicate_;
  int duplicate_entry_ = 0;
};

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string WithoutExceptionId(std::string what) {
  size_t end = what.find("] ");
  if (what.rfind("[json.exception", 0) == 0 && end != std::string::npos) what.erase(0, end + 2);
  return what;
}

// A required string that says something.
Result<std::string> Text(const json& entry, const char* key) {
  PA_ASSIGN_OR_RETURN(std::string s, StringField(entry, key));
  if (s.find_first_not_of(" \t\n") == std::string::npos) {
    return InvalidArgument(std::string("field '") + key + "' is empty");
  }
  return s;
}

// An optional list of layer or arch names or globs; plain names must be known, and arches are
// stored canonical.
Result<std::vector<std::string>> Names(const json& entry, const char* key, bool arch) {
  std::vector<std::string> out;
  if (!entry.contains(key)) return out;
  PA_ASSIGN_OR_RETURN(const json* list, ArrayField(entry, key));
  for (size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    const std::string at = std::string("field '") + key + "' item " + std::to_string(i + 1);
    if (!item.is_string()) {
      return InvalidArgument(at + " is " + DescribeJson(item) + ", expected a string");
    }
    std::string name = item.get<std::string>();
    if (std::string problem = GlobProblem(name, /*whole_id=*/false); !problem.empty()) {
      return InvalidArgument(at + " '" + name + "' " + problem);
    }
    if (!HasWildcard(name)) {
      if (arch && name != "mixed") {
        auto a = LookupArch(name);
        if (!a.ok()) return InvalidArgument(at + ": " + a.status().message());
        name = std::string((*a)->name);
      } else if (!arch && !KnownCaseLayer(name)) {
        std::string known;
        for (const auto& k : KnownLayers()) known += k + ", ";
        return InvalidArgument(at + ": unknown layer '" + name + "' (known: " + known +
                               "null, harness)");
      }
    }
    out.push_back(std::move(name));
  }
  return out;
}

Result<Expectation> ReadEntry(const json& entry) {
  if (!entry.is_object()) {
    return InvalidArgument("an entry is an object, this is " + DescribeJson(entry));
  }
  static const std::set<std::string> kKnown = {"cases", "layers", "arches", "reason", "reference"};
  for (const auto& [key, value] : entry.items()) {
    if (!kKnown.count(key)) {
      return InvalidArgument("unknown key '" + key + "' (known: " + kEntryKeys + ")");
    }
  }
  Expectation e;
  PA_ASSIGN_OR_RETURN(e.cases, StringField(entry, "cases"));
  if (std::string problem = GlobProblem(e.cases, /*whole_id=*/true); !problem.empty()) {
    return InvalidArgument("field 'cases' '" + e.cases + "' " + problem);
  }
  PA_ASSIGN_OR_RETURN(e.layers, Names(entry, "layers", /*arch=*/false));
  PA_ASSIGN_OR_RETURN(e.arches, Names(entry, "arches", /*arch=*/true));
  PA_ASSIGN_OR_RETURN(e.reason, Text(entry, "reason"));
  PA_ASSIGN_OR_RETURN(e.reference, Text(entry, "reference"));
  return e;
}

}  // namespace

Result<Expectations> ParseExpectations(std::string_view text, std::string_view source_name) {
  const std::string file(source_name);
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return InvalidArgument(file + ": the expectations file is empty (write {\"version\": 1, " +
                           "\"expectations\": []})");
  }
  DuplicateKeys duplicates;
  json root;
  // nlohmann says where JSON breaks only through its exception; it stays here.
  try {
    root = json::parse(text, std::ref(duplicates));
  } catch (const json::parse_error& e) {
    const size_t upto = std::min(e.byte, text.size());
    const size_t line = 1 + std::count(text.begin(), text.begin() + upto, '\n');
    return InvalidArgument(file + ":" + std::to_string(line) +
                           ": not valid JSON: " + WithoutExceptionId(e.what()));
  } catch (const json::exception& e) {
    // A number too large for any type (out_of_range 406) is not a parse_error.
    return InvalidArgument(file + ": not valid JSON: " + WithoutExceptionId(e.what()));
  }
  if (!duplicates.duplicate().empty()) {
    const int n = duplicates.duplicate_entry();
    return InvalidArgument(file + (n > 0 ? ":entry " + std::to_string(n) : "") + ": key '" +
                           duplicates.duplicate() + "' given twice");
  }
  if (!root.is_object()) {
    return InvalidArgument(file + ": an expectations file is an object {\"version\": 1, " +
                           "\"expectations\": [...]}, this is " + DescribeJson(root));
  }
  for (const auto& [key, value] : root.items()) {
    if (key != "version" && key != "expectations") {
      return InvalidArgument(file + ": unknown key '" + key + "' (known: version, expectations)");
    }
  }
  auto version = IntegerField<int>(root, "version");
  if (!version.ok()) return version.status().WithContext(file);
  if (*version != 1) {
    return InvalidArgument(file + ": version " + std::to_string(*version) +
                           " is not one this polyarch reads (1)");
  }
  auto list = ArrayField(root, "expectations");
  if (!list.ok()) return list.status().WithContext(file);
  Expectations out;
  for (size_t i = 0; i < (*list)->size(); ++i) {
    const std::string source = file + ":entry " + std::to_string(i + 1);
    auto e = ReadEntry((**list)[i]);
    if (!e.ok()) return e.status().WithContext(source);
    e->source = source;
    out.entries.push_back(std::move(*e));
  }
  out.files.push_back({file, false, static_cast<int>(out.entries.size())});
  return out;
}

Result<Expectations> LoadExpectations(const std::string& path) {
  auto text = ReadFile(path, 16 << 20);
  if (!text.ok()) {
    return InvalidArgument("cannot read expectations file: " + text.status().message());
  }
  return ParseExpectations(*text, path);
}

Result<Expectations> LoadRunExpectations(bool builtin, const std::vector<std::string>& paths) {
  Expectations all;
  auto add = [&all](Result<Expectations> more) -> Status {
    if (!more.ok()) return more.status();
    for (auto& e : more->entries) all.entries.push_back(std::move(e));
    for (auto& f : more->files) all.files.push_back(std::move(f));
    return Status::Ok();
  };
  if (builtin) {
    PA_RETURN_IF_ERROR(add(ParseExpectations(BuiltinExpectationsText(), kBuiltinExpectationsName)));
    all.files.back().builtin = true;
  }
  for (const auto& p : paths) PA_RETURN_IF_ERROR(add(LoadExpectations(p)));
  return all;
}

bool ExpectationGlobMatch(std::string_view pattern, std::string_view text) {
  // reach[j]: the pattern read so far matches the first j characters of the text.
  std::vector<char> reach(text.size() + 1, 0), next(text.size() + 1, 0);
  reach[0] = 1;
  for (size_t i = 0; i < pattern.size();) {
    std::fill(next.begin(), next.end(), 0);
    if (pattern[i] == '*') {
      const bool spans_slash = i + 1 < pattern.size() && pattern[i + 1] == '*';
      for (size_t j = 0; j <= text.size(); ++j) {
        next[j] = reach[j] || (j > 0 && next[j - 1] && (spans_slash || text[j - 1] != '/'));
      }
      i += spans_slash ? 2 : 1;
    } else {
      for (size_t j = 0; j < text.size(); ++j) {
        if (reach[j] && (pattern[i] == '?' ? text[j] != '/' : pattern[i] == text[j])) {
          next[j + 1] = 1;
        }
      }
      ++i;
    }
    reach.swap(next);
  }
  return reach[text.size()] != 0;
}

bool Covers(const Expectation& e, const CaseResult& c) {
  auto any = [](const std::vector<std::string>& globs, const std::string& name) {
    return globs.empty() || std::any_of(globs.begin(), globs.end(), [&](const std::string& g) {
             return ExpectationGlobMatch(g, name);
           });
  };
  return any(e.layers, c.layer) && any(e.arches, c.arch) &&
         ExpectationGlobMatch(e.cases, c.suite + "/" + c.layer + "/" + c.arch + "/" + c.name);
}

const Expectation* FindExpectation(const Expectations& e, const CaseResult& c) {
  for (const auto& entry : e.entries) {
    if (Covers(entry, c)) return &entry;
  }
  return nullptr;
}

void ApplyExpectation(const Expectation& entry, CaseResult* c) {
  const std::string deviation = entry.reason + " [" + entry.reference + "]";
  if (c->status == CaseStatus::kFail) {
    c->status = CaseStatus::kXfail;
    c->reason = "known deviation: " + deviation + " (" + entry.source + ")" +
                std::string(kObservedSeparator) + c->reason;
  } else if (c->status == CaseStatus::kPass) {
    c->status = CaseStatus::kXpass;
    c->reason = "passed although " + entry.source + " lists it as a known deviation (" + deviation +
                "): the entry is stale; remove or narrow it";
  }
}

ExpectationsApplied ApplyExpectations(const Expectations& e, std::vector<CaseResult>* cases) {
  ExpectationsApplied out;
  std::vector<bool> used(e.entries.size(), false);
  for (auto& c : *cases) {
    const Expectation* first = nullptr;
    for (size_t i = 0; i < e.entries.size(); ++i) {
      if (!Covers(e.entries[i], c)) continue;
      used[i] = true;
      if (first == nullptr) first = &e.entries[i];
    }
    if (first == nullptr) continue;
    ApplyExpectation(*first, &c);
    if (c.status == CaseStatus::kXfail) ++out.xfail;
    if (c.status == CaseStatus::kXpass) {
      ++out.xpass;
      out.stale.push_back(c.Id() + " (" + first->source + ")");
    }
  }
  // A built-in entry is about layers, arches and suites a narrower run does not plan: its
  // staleness shows as xpass where it is planned, not as noise in every other run.
  const std::string builtin = std::string(kBuiltinExpectationsName) + ":";
  for (size_t i = 0; i < e.entries.size(); ++i) {
    if (!used[i] && e.entries[i].source.rfind(builtin, 0) != 0) {
      out.unused.push_back(e.entries[i].source);
    }
  }
  return out;
}

namespace {

const Expectation* BySource(const Expectations& e, const std::string& source) {
  for (const auto& entry : e.entries) {
    if (entry.source == source) return &entry;
  }
  return nullptr;
}

}  // namespace

json ExpectationsSection(const Expectations& e, const ExpectationsApplied& applied) {
  json files = json::array(), unused = json::array();
  for (const auto& f : e.files) {
    files.push_back({{"path", f.path}, {"builtin", f.builtin}, {"entries", f.entries}});
  }
  for (const auto& source : applied.unused) {
    const Expectation* entry = BySource(e, source);
    unused.push_back({{"source", source}, {"cases", entry ? entry->cases : ""}});
  }
  return {{"files", files}, {"unused", unused}, {"xfail", applied.xfail}, {"xpass", applied.xpass}};
}

std::vector<std::string> DescribeUnused(const Expectations& e, const ExpectationsApplied& applied) {
  std::vector<std::string> out;
  for (const auto& source : applied.unused) {
    const Expectation* entry = BySource(e, source);
    out.push_back(source + (entry ? " (" + entry->cases + ")" : ""));
  }
  return out;
}

}  // namespace polyarch
