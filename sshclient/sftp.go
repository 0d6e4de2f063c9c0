package sshclient

import (
	"fmt"

	"github.com/pkg/sftp"
)

// sftpConcurrency is how many SFTP requests may be in flight per file: on a
// link with latency, reads and writes of one file go on in parallel instead
// of waiting for each 32 KiB packet's answer.
const sftpConcurrency = 64

// SFTP opens an SFTP session on the connection, as the connection's user,
// with concurrent reads and writes per file. Close it before the Client.
func (c *Client) SFTP() (*sftp.Client, error) {
	s, err := sftp.NewClient(c.c,
		sftp.UseConcurrentWrites(true),
		sftp.UseConcurrentReads(true),
		sftp.MaxConcurrentRequestsPerFile(sftpConcurrency),
	)
	if err != nil {
		return nil, fmt.Errorf("ssh: start sftp on %s: %w", c.addr, err)
	}
	return s, nil
}
