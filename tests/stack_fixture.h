// What every real-stack test needs: the images built from the real inputs into a temporary
// directory, and binfmt_misc entries for the foreign arches under a prefix unique to this
// test process (removed again at the end), so the host's own entries are never touched.
#ifndef POLYARCH_TESTS_STACK_FIXTURE_H_
#define POLYARCH_TESTS_STACK_FIXTURE_H_

#include <unistd.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "harness/core/fs.h"
#include "images/builder.h"
#include "tests/build_paths.h"

namespace polyarch::testing {

class StackFixture {
 public:
  // Builds images for `arches` ("amd64,s390x") and registers the foreign ones.
  static std::unique_ptr<StackFixture> Create(const std::string& tag, const std::string& arches) {
    std::unique_ptr<StackFixture> f(new StackFixture());
    auto d = TempDir::Create("polyarch-" + tag + "-");
    if (!d.ok()) {
      ADD_FAILURE() << d.status().ToString();
      return nullptr;
    }
    f->dir_ = std::make_unique<TempDir>(std::move(*d));
    f->prefix_ = "pa-" + tag + "-" + std::to_string(::getpid()) + "-";
    auto list = ParseArchList(arches, ArchScope::kAll);
    if (!list.ok()) {
      ADD_FAILURE() << list.status().ToString();
      return nullptr;
    }
    std::string foreign;
    for (const ArchInfo* a : *list) {
      if (a != HostArch()) foreign += (foreign.empty() ? "" : ",") + std::string(a->name);
    }
    if (!foreign.empty()) {
      auto r = RunPolyarch({"--state-dir", f->dir_->path(), "binfmt", "install", "--arch", foreign,
                            "--prefix", f->prefix_, "--no-prove"});
      if (r.exit_code != 0) {
        ADD_FAILURE() << "binfmt install: " << r.out.Text() << r.err.Text();
        return nullptr;
      }
      f->registered_ = true;
    }
    ImageBuildOptions o;
    o.arches = *list;
    o.out_dir = f->dir_->path() + "/images";
    o.probe_dir = kProbeDir;
    auto set = BuildImages(o);
    if (!set.ok()) {
      ADD_FAILURE() << set.status().ToString();
      return nullptr;
    }
    f->images_ = std::move(*set);
    return f;
  }

  ~StackFixture() {
    if (registered_) {
      (void)RunPolyarch({"--state-dir", dir_->path(), "binfmt", "uninstall", "--arch", "all",
                         "--prefix", prefix_});
    }
  }

  const std::string& dir() const { return dir_->path(); }
  const ImageSet& images() const { return images_; }

 private:
  StackFixture() = default;
  std::unique_ptr<TempDir> dir_;
  std::string prefix_;
  bool registered_ = false;
  ImageSet images_;
};

}  // namespace polyarch::testing

#endif  // POLYARCH_TESTS_STACK_FIXTURE_H_
