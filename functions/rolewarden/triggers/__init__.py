"""What each trigger does, from a parsed request to its result: the one call a Lambda
handler (or the demo) makes into the domain, with the invocation's Wiring."""
