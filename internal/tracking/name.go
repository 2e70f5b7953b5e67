package tracking

import (
	"fmt"
	"math/rand/v2"
)

// Word lists for generated run and model names ("adjective-noun-123").
var (
	nameAdjectives = []string{
		"amber", "bold", "brave", "bright", "calm", "clever", "crisp", "curious", "daring", "eager",
		"fair", "fancy", "gentle", "glad", "golden", "grand", "happy", "honest", "humble", "jolly",
		"keen", "kind", "lively", "loud", "lucky", "merry", "mighty", "modest", "neat", "nimble",
		"placid", "polite", "proud", "quick", "quiet", "rare", "rustic", "shy", "silent", "smooth",
		"sturdy", "swift", "tender", "tidy", "vast", "warm", "wise", "witty", "young", "zesty",
	}
	nameNouns = []string{
		"ant", "bass", "bear", "bee", "cat", "crab", "crow", "deer", "doe", "dove",
		"duck", "eel", "elk", "finch", "fox", "frog", "gnat", "goat", "hare", "hawk",
		"hen", "jay", "koi", "lark", "lynx", "mole", "moth", "mule", "newt", "owl",
		"ox", "panda", "perch", "pig", "pike", "ram", "robin", "seal", "shark", "slug",
		"snail", "squid", "stag", "swan", "toad", "trout", "wasp", "whale", "wolf", "wren",
	}
)

// RandomName returns a generated name such as "brave-owl-417", the form MLflow
// gives runs and logged models created without a name.
func RandomName() string {
	return fmt.Sprintf("%s-%s-%d", nameAdjectives[rand.IntN(len(nameAdjectives))], nameNouns[rand.IntN(len(nameNouns))], rand.IntN(1000))
}
