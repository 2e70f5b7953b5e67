package search

import "testing"

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		value, pattern string
		ci, want       bool
	}{
		{"abc", "abc", false, true},
		{"abc", "a%", false, true},
		{"abc", "%c", false, true},
		{"abc", "%b%", false, true},
		{"abc", "a_c", false, true},
		{"abc", "a_", false, false},
		{"abc", "___", false, true},
		{"abc", "____", false, false},
		{"abc", "ABC", false, false},
		{"abc", "ABC", true, true},
		{"ABC", "a%", true, true},
		{"", "%", false, true},
		{"", "%%", false, true},
		{"", "_", false, false},
		{"", "", false, true},
		{"a", "", false, false},
		{"jamie-foo C+W bar", "jamie-foo C+%", false, true}, // no regex metacharacters
		{"a.c", "a.c", false, true},
		{"abc", "a.c", false, false},
		{"a\nb", "a_b", false, true},
		{"ñandú", "Ñ%", true, true},
		{"ñandú", "Ñ%", false, false},
		{"ñandú", "_andú", false, true},
		{"KELVIN", "\u212aelvin", true, true}, // K folds to the Kelvin sign
		{"aaa", "%a%a%a%", false, true},
		{"aa", "%a%a%a%", false, false},
		{"mississippi", "m%iss%pi", false, true},
		{"mississippi", "m%iss%pix", false, false},
		{"abcabd", "%abd", false, true},
		{"train_v2", "train\\_%", false, false}, // no escape character
	} {
		if got := Like(tc.value, tc.pattern, tc.ci); got != tc.want {
			t.Errorf("Like(%q, %q, %v) = %v, want %v", tc.value, tc.pattern, tc.ci, got, tc.want)
		}
	}
}
