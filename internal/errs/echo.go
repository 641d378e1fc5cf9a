package errs

// maxEchoBytes is the longest value Echo passes through unquoted: the
// longest ARN Personalize accepts.
const maxEchoBytes = 256

// Echo returns s unchanged when it is a plain token (printable ASCII without
// spaces or quotes, at most 256 bytes), as an ARN or access key id is, so
// that messages worded like AWS's (AccessDeniedException) read as AWS's do;
// anything else goes through Quote, which cuts and escapes it.
func Echo(s string) string {
	if len(s) == 0 || len(s) > maxEchoBytes {
		return Quote(s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return Quote(s)
		}
	}
	return s
}
