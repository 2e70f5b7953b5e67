package projectconfig

// merge returns the system config merged over the user config the way the
// project's src/config.py does it (and so what train.py sees):
//
//	def merge(user, system):
//	    for key, value in system.items():
//	        if isinstance(value, dict) and isinstance(user.get(key), dict):
//	            merge(user[key], value)
//	        else:
//	            user[key] = value
//
// Mappings merge key by key, recursively; everything else in the system
// config, lists and null included, replaces the user's value. A replaced key
// keeps its place; a new key comes last. Each resulting node remembers the
// file it came from, so a diagnostic points at the effective value. Neither
// argument is modified.
func merge(user, system *node) *node {
	if user == nil {
		return system
	}
	if system == nil || user.tag != tagMap || system.tag != tagMap {
		if system != nil {
			return system
		}
		return user
	}
	out := *user
	out.entries = append([]*entry(nil), user.entries...)
	for _, se := range system.entries {
		id := keyID(se.key)
		found := false
		for i, ue := range out.entries {
			if keyID(ue.key) != id {
				continue
			}
			found = true
			if ue.val.tag == tagMap && se.val.tag == tagMap {
				out.entries[i] = &entry{key: ue.key, val: merge(ue.val, se.val)}
			} else {
				// The key stays the user's (an unknown key is still theirs
				// to fix); the value, and where it is written, the system's.
				out.entries[i] = &entry{key: ue.key, val: se.val}
			}
			break
		}
		if !found {
			out.entries = append(out.entries, se)
		}
	}
	return &out
}
