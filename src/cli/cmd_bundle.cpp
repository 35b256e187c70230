#include <memory>

#include "cli/bundle_commands.hpp"

namespace outpost::cli {

namespace {

// Each subcommand's options; returns the subcommand and the arguments it fills.
std::pair<CLI::App*, std::shared_ptr<CreateArgs>> add_create(CLI::App& sub) {
  auto create = std::make_shared<CreateArgs>();
  auto* c =
      sub.add_subcommand("create",
                         "Resolve images to digests, download them, write a bundle file and/or "
                         "push it to a registry");
  create->config.add_to(*c);
  c->add_option("--name", create->opt.name, "Release (bundle) name, e.g. the application")
      ->required();
  c->add_option("--version", create->opt.version, "Release version, e.g. a Git tag or commit")
      ->required();
  c->add_option("--images-from", create->images_from,
                "Kubernetes YAML files/dirs ('-' = stdin) to take images from");
  c->add_option("--image", create->images, "An image reference (repeatable)");
  c->add_option("--chart", create->charts,
                "A Helm chart from a helm.upstreams repository: HOST[/PATH]/NAME:VERSION "
                "(repeatable; Argo CD Applications in --images-from add theirs)");
  c->add_option("--platform", create->platforms, "Platforms to include (default linux/amd64)")
      ->delimiter(',');
  c->add_option("--since", create->since,
                "Base bundle file: write a delta holding only blobs it lacks")
      ->check(CLI::ExistingFile);
  c->add_option("--source-repo", create->opt.source_repo,
                "Provenance: the Git repository of the manifests");
  c->add_option("--source-commit", create->opt.source_commit,
                "Provenance: the commit of the manifests");
  c->add_option("--cache", create->cache, "Download cache (default <data_dir>/bundle-cache)");
  c->add_option("--sign-key", create->opt.sign_key,
                "ed25519 private key (PEM) to sign the bundle with")
      ->check(CLI::ExistingFile);
  c->add_option("-o,--output", create->output, "Bundle file to write");
  c->add_option("--push", create->push,
                "Also push the bundle to oci://REGISTRY/REPO:TAG (a registry.upstreams entry)");
  return {c, create};
}

std::pair<CLI::App*, std::shared_ptr<PushArgs>> add_push(CLI::App& sub) {
  auto push = std::make_shared<PushArgs>();
  auto* p = sub.add_subcommand(
      "push", "Push a bundle file to a registry as one OCI artifact (only missing blobs are sent)");
  push->config.add_to(*p);
  p->add_option("file", push->file, "Bundle file")->required()->check(CLI::ExistingFile);
  p->add_option("destination", push->dest,
                "oci://REGISTRY/REPO:TAG; REGISTRY must be in registry.upstreams of the config")
      ->required();
  return {p, push};
}

std::pair<CLI::App*, std::shared_ptr<ImportArgs>> add_import(CLI::App& sub) {
  auto import = std::make_shared<ImportArgs>();
  auto* i = sub.add_subcommand("import",
                               "Verify a bundle (file, URL or oci:// reference) and load it into a "
                               "stopped Outpost's data dir, or a running one (--server)");
  import->config.add_to(*i);
  import->token.add_to(*i);
  i->add_option("--data-dir", import->data_dir, "Data directory (default: the config's data_dir)");
  i->add_option("--server", import->server,
                "Import through a running Outpost's API instead of a data dir");
  i->add_option("--name", import->name, "With --server and a URL/oci source: the release name");
  i->add_option("--version", import->version,
                "With --server and a URL/oci source: the release version");
  i->add_option("source", import->source,
                "Bundle file, http(s) URL (downloads resume) or oci://REGISTRY/REPO:TAG (only "
                "missing blobs are fetched)")
      ->required();
  return {i, import};
}

std::pair<CLI::App*, std::shared_ptr<EnsureArgs>> add_ensure(CLI::App& sub) {
  auto ensure = std::make_shared<EnsureArgs>();
  auto* e =
      sub.add_subcommand("ensure",
                         "For an Argo CD PreSync hook: make a running Outpost import a release and "
                         "wait; exit 0 only when every image is local and verified");
  ensure->token.add_to(*e);
  e->add_option("--server", ensure->server, "Outpost URL, e.g. http://outpost.outpost.svc:8080")
      ->required();
  e->add_option("--source", ensure->source,
                "Bundle URL, oci://REGISTRY/REPO:TAG, or a path under bundle.allowed_sources");
  e->add_option("--name", ensure->name, "Release name")->required();
  e->add_option("--version", ensure->version, "Release version")->required();
  e->add_option("--timeout", ensure->timeout, "Give up after this long (default 30m)");
  e->add_flag("--check", ensure->check, "Only report readiness (exit 0 when ready); start nothing");
  return {e, ensure};
}

}  // namespace

Action setup_bundle(CLI::App& sub) {
  sub.require_subcommand(1);
  std::pair c = add_create(sub);
  std::pair p = add_push(sub);
  std::pair i = add_import(sub);
  std::pair e = add_ensure(sub);
  return [c, p, i, e] {
    if (c.first->parsed()) return run_create(*c.second);
    if (p.first->parsed()) return run_push(*p.second);
    if (i.first->parsed()) return run_import(*i.second);
    if (e.first->parsed()) return run_ensure(*e.second);
    return 2;
  };
}

}  // namespace outpost::cli
