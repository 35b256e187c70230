// gogit_client: go-git (the library inside Argo CD and Flux) against a Git URL, for tests.
//
//	gogit_client ls-remote URL         refs as "<sha> <name>", sorted (Argo CD's ls-remote path)
//	gogit_client clone URL DIR [DEPTH] clone (Flux clones at depth 1); prints HEAD's sha
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/storage/memory"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gogit_client:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: gogit_client ls-remote URL | clone URL DIR [DEPTH]"))
	}
	switch os.Args[1] {
	case "ls-remote":
		remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{os.Args[2]}})
		refs, err := remote.List(&git.ListOptions{})
		if err != nil {
			fail(err)
		}
		var lines []string
		for _, r := range refs {
			if r.Hash().IsZero() {
				lines = append(lines, fmt.Sprintf("%s %s", r.Target(), r.Name()))
			} else {
				lines = append(lines, fmt.Sprintf("%s %s", r.Hash(), r.Name()))
			}
		}
		sort.Strings(lines)
		for _, l := range lines {
			fmt.Println(l)
		}
	case "clone":
		if len(os.Args) < 4 {
			fail(fmt.Errorf("clone needs URL and DIR"))
		}
		opts := &git.CloneOptions{URL: os.Args[2]}
		if len(os.Args) > 4 {
			d, err := strconv.Atoi(os.Args[4])
			if err != nil {
				fail(err)
			}
			opts.Depth = d
		}
		repo, err := git.PlainClone(os.Args[3], false, opts)
		if err != nil {
			fail(err)
		}
		head, err := repo.Head()
		if err != nil {
			fail(err)
		}
		fmt.Println(head.Hash())
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}
