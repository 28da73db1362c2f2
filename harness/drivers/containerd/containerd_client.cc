#include "harness/drivers/containerd/containerd_client.h"

#include "harness/drivers/containerd/translate.h"

namespace polyarch::ctd {

ContainerdClient::ContainerdClient(const std::string& socket_path, std::string ns)
    : socket_path_(socket_path), ns_(std::move(ns)) {
  grpc::ChannelArguments args;
  // Image blobs come back in Content responses; the default 4 MiB would do, the margin is for
  // larger images users may bring.
  args.SetMaxReceiveMessageSize(64 << 20);
  // A daemon that died and came back should be reachable again without waiting for gRPC's
  // exponential reconnect backoff to run out.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  channel_ =
      grpc::CreateCustomChannel("unix://" + socket_path, grpc::InsecureChannelCredentials(), args);
  containers_ = api::containers::Containers::NewStub(channel_);
  content_ = api::content::Content::NewStub(channel_);
  diff_ = api::diff::Diff::NewStub(channel_);
  images_ = api::images::Images::NewStub(channel_);
  leases_ = api::leases::Leases::NewStub(channel_);
  namespaces_ = api::namespaces::Namespaces::NewStub(channel_);
  snapshots_ = api::snapshots::Snapshots::NewStub(channel_);
  tasks_ = api::tasks::Tasks::NewStub(channel_);
  version_ = api::version::Version::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> ContainerdClient::NewContext(std::chrono::milliseconds timeout,
                                                                  const std::string& lease) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata(kNamespaceHeader, ns_);
  if (!lease.empty()) ctx->AddMetadata(kLeaseHeader, lease);
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

Status ContainerdClient::Call(std::string_view call, std::chrono::milliseconds timeout,
                              const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
                              const std::string& lease) const {
  auto ctx = NewContext(timeout, lease);
  return FromGrpc(rpc(ctx.get()), call);
}

}  // namespace polyarch::ctd
