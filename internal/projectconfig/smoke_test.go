package projectconfig

import (
	"os"
	"path/filepath"
	"testing"
	"fmt"
	_ "time/tzdata"
)

func TestSmoke(t *testing.T) {
	for _, src := range []string{os.Getenv("SMOKE")} {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "src"), 0o755)
		os.WriteFile(filepath.Join(dir, "src/config.yaml"), []byte(src), 0o644)
		if s := os.Getenv("SMOKESYS"); s != "" {
			os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(s), 0o644)
		}
		c, d, err := Load(dir)
		fmt.Println("err", err)
		for _, x := range d {
			fmt.Println(x.String())
		}
		fmt.Printf("%+v\n", *c)
	}
}
