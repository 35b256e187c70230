#include <memory>
#include <vector>

#include "cli/bundle_commands.hpp"

namespace outpost::cli {

namespace {

// Each subcommand's options, declared into the arguments they fill.
void create_options(CLI::App& c, CreateArgs& a) {
  a.config.add_to(c);
  c.add_option("--name", a.opt.name,
               "Release (bundle) name, e.g. the application (with --from: the repository's last "
               "path part)");
  c.add_option("--version", a.opt.version,
               "Release version, e.g. a Git tag or commit (with --from: its tag)");
  c.add_option("--from", a.from,
               "oci://REGISTRY/REPO:VERSION — a GitOps source artifact (Argo CD or Flux manifests, "
               "a Helm OCI chart): the images its manifests name, and the artifact itself");
  c.add_option("--images-from", a.images_from,
               "Kubernetes YAML files/dirs ('-' = stdin) to take images from");
  c.add_option("--image", a.images, "An image reference (repeatable)");
  c.add_option("--chart", a.charts,
               "A Helm chart from a helm.upstreams repository: HOST[/PATH]/NAME:VERSION "
               "(repeatable; Argo CD Applications in --images-from add theirs)");
  c.add_option("--platform", a.platforms, "Platforms to include (default linux/amd64)")
      ->delimiter(',');
  c.add_option("--since", a.since, "Base bundle file: write a delta holding only blobs it lacks")
      ->check(CLI::ExistingFile);
  c.add_option("--source-repo", a.opt.source_repo,
               "Provenance: the Git repository of the manifests");
  c.add_option("--source-commit", a.opt.source_commit, "Provenance: the commit of the manifests");
  c.add_option("--cache", a.cache, "Download cache (default <data_dir>/bundle-cache)");
  c.add_option("--sign-key", a.opt.sign_key, "ed25519 private key (PEM) to sign the bundle with")
      ->check(CLI::ExistingFile);
  c.add_flag("--with-referrers", a.opt.with_referrers,
             "Also carry each image's signatures, SBOMs and attestations (the referrers API and "
             "the sha256-<hex>[.sig|.att|.sbom] tags), served offline after import");
  c.add_option("-o,--output", a.output, "Bundle file to write");
  c.add_option("--push", a.push,
               "Also push the bundle to oci://REGISTRY/REPO:TAG (a registry.upstreams entry)");
}

void push_options(CLI::App& p, PushArgs& a) {
  a.config.add_to(p);
  p.add_option("file", a.file, "Bundle file")->required()->check(CLI::ExistingFile);
  p.add_option("destination", a.dest,
               "oci://REGISTRY/REPO:TAG; REGISTRY must be in registry.upstreams of the config")
      ->required();
}

void import_options(CLI::App& i, ImportArgs& a) {
  a.config.add_to(i);
  a.token.add_to(i);
  i.add_option("--data-dir", a.data_dir, "Data directory (default: the config's data_dir)");
  i.add_option("--server", a.server,
               "Import into a running Outpost (no restart): a local file is uploaded to it in "
               "chunks and resumes where a cut upload stopped; a URL or oci:// source is fetched "
               "by the server");
  i.add_option("--name", a.name, "With --server and a URL/oci source: the release name");
  i.add_option("--version", a.version, "With --server and a URL/oci source: the release version");
  i.add_option("source", a.source,
               "Bundle file, http(s) URL (downloads resume) or oci://REGISTRY/REPO:TAG (only "
               "missing blobs are fetched)")
      ->required();
}

void ensure_options(CLI::App& e, EnsureArgs& a) {
  a.token.add_to(e);
  e.add_option("--server", a.server, "Outpost URL, e.g. http://outpost.outpost.svc:8080")
      ->required();
  e.add_option("--source", a.source,
               "Bundle URL, oci://REGISTRY/REPO:TAG, or a path under bundle.allowed_sources");
  e.add_option("--name", a.name, "Release name")->required();
  e.add_option("--version", a.version, "Release version")->required();
  e.add_option("--timeout", a.timeout, "Give up after this long (default 30m)");
  e.add_flag("--check", a.check, "Only report readiness (exit 0 when ready); start nothing");
  e.add_option("--min-replicas", a.min_replicas,
               "In a site cluster: ready once this many replicas are (default: every live one)")
      ->check(CLI::PositiveNumber);
}

void export_options(CLI::App& x, ExportArgs& a) {
  a.token.add_to(x);
  x.add_option("--server", a.server, "Outpost URL that holds the release")->required();
  x.add_option("--name", a.name, "Release name")->required();
  x.add_option("--version", a.version, "Release version")->required();
  x.add_option("-o,--output", a.output, "Bundle file to write")->required();
}

// A subcommand of `bundle`: its options fill one Args, and it runs when it was the one parsed.
struct Subcommand {
  CLI::App* app;
  Action run;
};

template <class Args>
Subcommand subcommand(CLI::App& bundle, const char* name, const char* help,
                      void (*options)(CLI::App&, Args&), int (*run)(const Args&)) {
  auto args = std::make_shared<Args>();
  auto* app = bundle.add_subcommand(name, help);
  options(*app, *args);
  return {app, [args, run] { return run(*args); }};
}

}  // namespace

Action setup_bundle(CLI::App& sub) {
  sub.require_subcommand(1);
  std::vector<Subcommand> subs = {
      subcommand(sub, "create",
                 "Resolve images to digests, download them, write a bundle file "
                 "and/or push it to a registry",
                 create_options, run_create),
      subcommand(
          sub, "push",
          "Push a bundle file to a registry as one OCI artifact (only missing blobs are sent)",
          push_options, run_push),
      subcommand(sub, "import",
                 "Verify a bundle (file, URL or oci:// reference) and load it into a "
                 "stopped Outpost's data dir, or a running one (--server)",
                 import_options, run_import),
      subcommand(sub, "export",
                 "Write a release a running Outpost holds back to a bundle file (the same "
                 "JSON, signature and layout), to seed another site",
                 export_options, run_export),
      subcommand(sub, "ensure",
                 "For an Argo CD PreSync hook: make a running Outpost import a release "
                 "and wait; exit 0 only when every image is local and verified",
                 ensure_options, run_ensure),
  };
  return [subs] {
    for (const auto& s : subs)
      if (s.app->parsed()) return s.run();
    return 2;
  };
}

}  // namespace outpost::cli
