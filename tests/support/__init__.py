"""Real servers and throwaway PKI for the test suite and the README's demo command."""
