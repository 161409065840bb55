"""In a user container: allocate argv[1] bytes in 64 MiB chunks (the kernel's OOM killer should stop it
at the container's memory limit: exit code 137)."""
import sys

CHUNK = 64 * 1024 * 1024
chunks = [bytearray(CHUNK) for _ in range(int(sys.argv[1]) // CHUNK)]
print("allocated", len(chunks) * CHUNK)
