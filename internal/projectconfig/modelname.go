package projectconfig

import "fmt"

// modelNames normalises model_name into an ordered list of names. It
// accepts every form the seed guide shows or implies:
//
//	model_name: knn_model                       # one name
//	model_name: [knn_model_1, knn_model_2]      # a list of names
//	model_name:                                 # a list of one-key mappings;
//	  - model_name_1: "knn_model_1"             # the keys are only labels
//	  - model_name_2: "knn_model_2"
//	model_name:                                 # the guide's nested form
//	  - model_name:
//	      - model_name_1: "knn_model_1"
//
// and, alike, a mapping of labels to names. It returns nil when model_name
// is absent or empty: the caller then uses proj_name.
func (v *validator) modelNames(e *entry) []string {
	const rule = "model_name"
	if e == nil || e.val.isEmpty() {
		return nil
	}
	var names []string
	first := map[string]*node{}
	problems := len(v.diags)

	add := func(n *node) {
		switch {
		case n.tag == tagInvalid:
		case n.isEmpty():
			v.errorAt(n, rule, "write the model's name, or delete the empty entry", "a model name is empty")
		case n.tag == tagStr:
			s := n.y.Value
			if prev, ok := first[s]; ok {
				v.errorAt(n, rule, "remove one of them", "model name %q is listed twice (first at line %d)", s, prev.line())
				return
			}
			first[s] = n
			names = append(names, s)
		case n.tag == tagSeq || n.tag == tagMap:
			v.errorAt(n, rule, "write one name per entry", "a model name must be a string, not %s", n.describe())
		default:
			v.errorAt(n, rule, fmt.Sprintf("quote it: %q", n.y.Value), "a model name must be a string, but YAML reads %s as %s", n.y.Value, n.describe())
		}
	}
	var list func(n *node)
	labelled := func(m *node) {
		for _, le := range m.entries {
			if label, ok := le.name(); ok && label == rule && (le.val.tag == tagSeq || le.val.tag == tagMap) {
				list(le.val) // the guide's nested form
				continue
			}
			add(le.val)
		}
	}
	list = func(n *node) {
		switch n.tag {
		case tagSeq:
			for _, it := range n.items {
				switch it.tag {
				case tagMap:
					labelled(it)
				case tagSeq:
					v.errorAt(it, rule, "write the names as one flat list", "a list inside the list of model names")
				default:
					add(it)
				}
			}
		case tagMap:
			labelled(n)
		default:
			add(n)
		}
	}
	list(e.val)
	if len(names) == 0 && len(v.diags) == problems {
		v.errorAt(e.val, rule, "write at least one model name, or delete model_name to use proj_name", "lists no model names")
	}
	return names
}
