// Bringing the run's images into containerd: every blob of the OCI layout through
// Content.Write, the multi-arch index through Images.Create, each arch's layer unpacked into a
// committed overlayfs snapshot, all under one lease so GC takes nothing half-done.
#include <algorithm>

#include "harness/core/fs.h"
#include "harness/core/log.h"
#include "harness/core/timing.h"
#include "harness/drivers/containerd/containerd_internal.h"
#include "harness/drivers/containerd/containerd_layer.h"
#include "harness/drivers/containerd/translate.h"
#include "images/oci.h"

namespace polyarch {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace api = ctd::api;
using namespace ctd;  // the layer's own constants and helpers (containerd_internal.h)

Status ContainerdLayer::ImportImages() {
  const auto& c = *client_;
  const ImageSet& set = *options_.images;
  lease_ = "import-" + std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  JournalAdd(kKindLease, c.ns() + "/" + lease_, {{"namespace", c.ns()}, {"id", lease_}});
  api::leases::CreateRequest lreq;
  api::leases::CreateResponse lresp;
  lreq.set_id(lease_);
  (*lreq.mutable_labels())[ctd::kGcExpireLabel] =
      Rfc3339Utc(std::chrono::system_clock::now() + kLeaseExpiry);
  (*lreq.mutable_labels())[ctd::kOwnerLabel] = ctd::kOwnerValue;
  PA_RETURN_IF_ERROR(c.Call("Leases.Create", options_.step_timeout, [&](grpc::ClientContext* ctx) {
    return c.leases().Create(ctx, lreq, &lresp);
  }));

  // Children first; each blob carries the gc.ref labels naming what it keeps alive, the way
  // containerd's own import labels them, so nothing depends on the lease once it is gone.
  std::map<std::string, std::string> index_labels;
  for (size_t i = 0; i < set.images.size(); ++i) {
    const BuiltImage& img = set.images[i];
    PA_RETURN_IF_ERROR(WriteBlob(img.layer.digest, img.layer.size, {}));
    PA_RETURN_IF_ERROR(
        WriteBlob(img.config.digest, img.config.size,
                  {{ctd::kGcSnapshotLabelPrefix + std::string(ctd::kSnapshotter),
                    img.layer.digest}}));  // one uncompressed layer: chain id = its digest
    PA_RETURN_IF_ERROR(
        WriteBlob(img.manifest.digest, img.manifest.size,
                  {{ctd::kGcContentLabelPrefix + std::string("config"), img.config.digest},
                   {ctd::kGcContentLabelPrefix + std::string("l.0"), img.layer.digest}}));
    index_labels[ctd::kGcContentLabelPrefix + std::string("m.") + std::to_string(i)] =
        img.manifest.digest;
  }
  PA_RETURN_IF_ERROR(WriteBlob(set.index.digest, set.index.size, index_labels));

  JournalAdd(kKindImage, c.ns() + "/" + set.index_reference,
             {{"namespace", c.ns()}, {"name", set.index_reference}});
  api::images::CreateImageRequest ireq;
  api::images::CreateImageResponse iresp;
  auto* image = ireq.mutable_image();
  image->set_name(set.index_reference);
  (*image->mutable_labels())[ctd::kRunLabel] = options_.run_id;
  image->mutable_target()->set_media_type(kMediaTypeIndex);
  image->mutable_target()->set_digest(set.index.digest);
  image->mutable_target()->set_size(set.index.size);
  Status s = c.Call(
      "Images.Create", options_.step_timeout,
      [&](grpc::ClientContext* ctx) { return c.images().Create(ctx, ireq, &iresp); }, lease_);
  if (s.code() == Code::kAlreadyExists) {
    api::images::UpdateImageRequest ureq;
    api::images::UpdateImageResponse uresp;
    *ureq.mutable_image() = *image;
    s = c.Call(
        "Images.Update", options_.step_timeout,
        [&](grpc::ClientContext* ctx) { return c.images().Update(ctx, ureq, &uresp); }, lease_);
  }
  PA_RETURN_IF_ERROR(s);

  for (const BuiltImage& img : set.images) {
    std::string arch(img.arch->name);
    manifests_[arch] = img.manifest.digest;
    Status u = Unpack(img);
    if (u.ok()) {
      chains_[arch] = img.layer.digest;
    } else {
      unsupported_[arch] = u.message();
      PA_LOG(kWarning) << "containerd: the " << arch << " image is not usable: " << u.ToString();
    }
  }
  // Everything is labelled and referenced now: the lease has done its job.
  PA_RETURN_IF_ERROR(DeleteLease(lease_));
  lease_.clear();
  return Status::Ok();
}

Status ContainerdLayer::WriteBlob(const std::string& digest, int64_t size,
                                  const std::map<std::string, std::string>& labels) {
  const auto& c = *client_;
  const std::string path = options_.images->oci_layout + "/blobs/sha256/" + Hex(digest);
  PA_ASSIGN_OR_RETURN(std::string data, ReadFile(path, size_t{1} << 32));
  if (static_cast<int64_t>(data.size()) != size) {
    return FailedPrecondition(path + " holds " + std::to_string(data.size()) +
                              " bytes, the image set says " + std::to_string(size) +
                              ": rebuild the images");
  }
  // containerd's content service answers every request on the stream; going in lock-step
  // keeps a failure attributable to the request that caused it.
  auto ctx = c.NewContext(options_.step_timeout, lease_);
  auto stream = c.content().Write(ctx.get());
  api::content::WriteContentRequest req;
  api::content::WriteContentResponse resp;
  const std::string ref = "polyarch-" + c.ns() + "-" + Hex(digest);
  req.set_action(api::content::STAT);
  req.set_ref(ref);
  req.set_total(size);
  req.set_expected(digest);
  bool alive = stream->Write(req) && stream->Read(&resp);
  int64_t offset = alive ? resp.offset() : 0;  // a ref left by an earlier attempt resumes
  while (alive && offset < size) {
    size_t n = std::min(kWriteChunk, static_cast<size_t>(size - offset));
    req.Clear();
    req.set_action(api::content::WRITE);
    req.set_ref(ref);
    req.set_offset(offset);
    req.set_data(data.data() + offset, n);
    alive = stream->Write(req) && stream->Read(&resp);
    offset += static_cast<int64_t>(n);
  }
  if (alive) {
    req.Clear();
    req.set_action(api::content::COMMIT);
    req.set_ref(ref);
    // The offset must be given: a COMMIT (or WRITE) at offset 0 truncates what was written.
    req.set_offset(offset);
    req.set_total(size);
    req.set_expected(digest);
    for (const auto& [k, v] : labels) (*req.mutable_labels())[k] = v;
    alive = stream->Write(req) && stream->Read(&resp);
  }
  stream->WritesDone();
  // Finish blocks until the server has closed its side: read whatever is left first.
  while (stream->Read(&resp)) {
  }
  Status s = ctd::FromGrpc(stream->Finish(), "Content.Write " + digest);
  if (s.code() != Code::kAlreadyExists) return s;
  // Already there (an earlier run or another namespace's import): it still needs our labels.
  if (labels.empty()) return Status::Ok();
  api::content::UpdateRequest ureq;
  api::content::UpdateResponse uresp;
  ureq.mutable_info()->set_digest(digest);
  for (const auto& [k, v] : labels) {
    (*ureq.mutable_info()->mutable_labels())[k] = v;
    ureq.mutable_update_mask()->add_paths("labels." + k);
  }
  return c.Call(
      "Content.Update", options_.step_timeout,
      [&](grpc::ClientContext* uctx) { return c.content().Update(uctx, ureq, &uresp); }, lease_);
}

Status ContainerdLayer::Unpack(const BuiltImage& img) {
  const auto& c = *client_;
  const std::string chain = img.layer.digest;
  const auto timeout = options_.step_timeout;
  api::snapshots::StatSnapshotRequest streq;
  api::snapshots::StatSnapshotResponse stresp;
  streq.set_snapshotter(ctd::kSnapshotter);
  streq.set_key(chain);
  Status s = c.Call("Snapshots.Stat", timeout, [&](grpc::ClientContext* ctx) {
    return c.snapshots().Stat(ctx, streq, &stresp);
  });
  if (s.ok()) return Status::Ok();  // unpacked before: the chain is shared
  if (s.code() != Code::kNotFound) return s;

  const std::string key = "polyarch-extract-" + std::string(img.arch->name) + "-" + Hex(chain);
  JournalAdd(kKindSnapshot, c.ns() + "/" + chain,
             {{"namespace", c.ns()}, {"chain", chain}, {"arch", img.arch->name}});
  api::snapshots::PrepareSnapshotRequest preq;
  api::snapshots::PrepareSnapshotResponse presp;
  preq.set_snapshotter(ctd::kSnapshotter);
  preq.set_key(key);
  s = c.Call(
      "Snapshots.Prepare", timeout,
      [&](grpc::ClientContext* ctx) { return c.snapshots().Prepare(ctx, preq, &presp); }, lease_);
  if (!s.ok()) return s;
  auto remove_key = [&] {
    api::snapshots::RemoveSnapshotRequest req;
    google::protobuf::Empty resp;
    req.set_snapshotter(ctd::kSnapshotter);
    req.set_key(key);
    (void)c.Call("Snapshots.Remove", timeout,
                 [&](grpc::ClientContext* ctx) { return c.snapshots().Remove(ctx, req, &resp); });
  };

  api::diff::ApplyRequest areq;
  api::diff::ApplyResponse aresp;
  areq.mutable_diff()->set_media_type(kMediaTypeLayer);
  areq.mutable_diff()->set_digest(img.layer.digest);
  areq.mutable_diff()->set_size(img.layer.size);
  *areq.mutable_mounts() = presp.mounts();
  s = c.Call(
      "Diff.Apply", timeout,
      [&](grpc::ClientContext* ctx) { return c.diff().Apply(ctx, areq, &aresp); }, lease_);
  if (s.ok() && aresp.applied().digest() != chain) {
    s = Internal("Diff.Apply: the layer applied as " + aresp.applied().digest() +
                 ", expected its diff_id " + chain);
  }
  if (!s.ok()) {
    remove_key();
    return s;
  }

  api::snapshots::CommitSnapshotRequest creq;
  google::protobuf::Empty cresp;
  creq.set_snapshotter(ctd::kSnapshotter);
  creq.set_name(chain);
  creq.set_key(key);
  s = c.Call(
      "Snapshots.Commit", timeout,
      [&](grpc::ClientContext* ctx) { return c.snapshots().Commit(ctx, creq, &cresp); }, lease_);
  if (s.code() == Code::kAlreadyExists) {  // another unpack of the same layer won the race
    remove_key();
    return Status::Ok();
  }
  if (!s.ok()) remove_key();
  return s;
}

Status ContainerdLayer::DeleteLease(const std::string& id) {
  const auto& c = *client_;
  api::leases::DeleteRequest req;
  google::protobuf::Empty resp;
  req.set_id(id);
  Status s = c.Call("Leases.Delete", options_.step_timeout,
                    [&](grpc::ClientContext* ctx) { return c.leases().Delete(ctx, req, &resp); });
  if (!NotFoundOrOk(s)) return s;
  JournalRemove(kKindLease, c.ns() + "/" + id);
  return Status::Ok();
}

}  // namespace polyarch
