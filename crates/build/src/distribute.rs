//! Distributing a tested image: copies, shares, SSM parameters and a signed registry entry.
