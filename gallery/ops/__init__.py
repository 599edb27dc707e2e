"""What the operator needs beside the gallery: throttles, worker heartbeats, leases, health."""
