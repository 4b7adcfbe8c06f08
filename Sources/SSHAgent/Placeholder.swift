import SSHKeys
