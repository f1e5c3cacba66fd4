/* uringblkd: the netlink attach, see attach.h.
 *
 * libnl turns kernel errors into its own NLE_* codes, which lose the
 * difference between (say) EBUSY and EINVAL, so the error callback here
 * keeps the kernel's errno as it came.
 */

#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <linux/nbd-netlink.h>

#include "attach.h"

/* What one request/acknowledgement exchange found. */
struct exchange {
  bool done;
  int error;                    /* kernel's -errno, 0 if acknowledged */
  int index;                    /* NBD_ATTR_INDEX of a reply, or -1 */
};

static int
exchange_on_error (struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
  struct exchange *x = arg;

  x->error = e->error < 0 ? e->error : -EIO;
  x->done = true;
  return NL_STOP;
}

static int
exchange_on_ack (struct nl_msg *msg, void *arg)
{
  struct exchange *x = arg;

  x->done = true;
  return NL_STOP;
}

static int
exchange_on_valid (struct nl_msg *msg, void *arg)
{
  struct exchange *x = arg;
  struct nlattr *tb[NBD_ATTR_MAX + 1];

  if (genlmsg_parse (nlmsg_hdr (msg), 0, tb, NBD_ATTR_MAX, NULL) == 0 &&
      tb[NBD_ATTR_INDEX])
    x->index = nla_get_u32 (tb[NBD_ATTR_INDEX]);
  return NL_OK;
}

/* Open a generic netlink socket and resolve the "nbd" family. */
static int
family_open (struct nl_sock **skp, int *family)
{
  struct nl_sock *sk;
  int r;

  sk = nl_socket_alloc ();
  if (sk == NULL)
    return -ENOMEM;
  if (genl_connect (sk) < 0) {
    r = errno ? -errno : -EIO;
    nl_socket_free (sk);
    return r;
  }
  *family = genl_ctrl_resolve (sk, NBD_GENL_FAMILY_NAME);
  if (*family < 0) {
    nl_socket_free (sk);
    return -ENOPKG;
  }
  *skp = sk;
  return 0;
}

/* Start a message for CMD on FAMILY. */
static struct nl_msg *
message_new (int family, uint8_t cmd)
{
  struct nl_msg *msg = nlmsg_alloc ();

  if (msg == NULL)
    return NULL;
  if (genlmsg_put (msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
                   cmd, NBD_GENL_VERSION) == NULL) {
    nlmsg_free (msg);
    return NULL;
  }
  return msg;
}

/* Add NBD_ATTR_SOCKETS with one NBD_SOCK_ITEM per fd. */
static int
message_put_sockets (struct nl_msg *msg, const int *fds, unsigned nfds)
{
  struct nlattr *socks, *item;

  socks = nla_nest_start (msg, NBD_ATTR_SOCKETS);
  if (socks == NULL)
    return -EMSGSIZE;
  for (unsigned i = 0; i < nfds; i++) {
    item = nla_nest_start (msg, NBD_SOCK_ITEM);
    if (item == NULL || nla_put_u32 (msg, NBD_SOCK_FD, fds[i]) < 0)
      return -EMSGSIZE;
    nla_nest_end (msg, item);
  }
  nla_nest_end (msg, socks);
  return 0;
}

/* Send MSG (consumed) on SK and wait for the kernel's answer. */
static int
message_exchange (struct nl_sock *sk, struct nl_msg *msg, struct exchange *x)
{
  int r;

  x->done = false;
  x->error = 0;
  x->index = -1;
  nl_socket_modify_cb (sk, NL_CB_VALID, NL_CB_CUSTOM, exchange_on_valid, x);
  nl_socket_modify_cb (sk, NL_CB_ACK, NL_CB_CUSTOM, exchange_on_ack, x);
  nl_socket_modify_err_cb (sk, NL_CB_CUSTOM, exchange_on_error, x);

  r = nl_send_auto (sk, msg);
  nlmsg_free (msg);
  if (r < 0)
    return -EIO;
  while (!x->done) {
    r = nl_recvmsgs_default (sk);
    if (r < 0 && !x->done)
      return -EIO;
  }
  return x->error;
}

int
attach_connect (const struct attach_params *p, int *index)
{
  struct nl_sock *sk = NULL;
  struct nl_msg *msg;
  struct exchange x;
  int family, r;

  r = family_open (&sk, &family);
  if (r < 0)
    return r;
  msg = message_new (family, NBD_CMD_CONNECT);
  if (msg == NULL) {
    r = -ENOMEM;
    goto out;
  }
  if ((p->index >= 0 && nla_put_u32 (msg, NBD_ATTR_INDEX, p->index) < 0) ||
      nla_put_u64 (msg, NBD_ATTR_SIZE_BYTES, p->size) < 0 ||
      nla_put_u64 (msg, NBD_ATTR_BLOCK_SIZE_BYTES, p->block_size) < 0 ||
      nla_put_u64 (msg, NBD_ATTR_SERVER_FLAGS, p->server_flags) < 0 ||
      (p->timeout && nla_put_u64 (msg, NBD_ATTR_TIMEOUT, p->timeout) < 0) ||
      nla_put_u64 (msg, NBD_ATTR_DEAD_CONN_TIMEOUT, p->dead_timeout) < 0 ||
      message_put_sockets (msg, p->fds, p->nfds) < 0) {
    nlmsg_free (msg);
    r = -EMSGSIZE;
    goto out;
  }
  r = message_exchange (sk, msg, &x);
  if (r < 0)
    goto out;
  if (x.index >= 0)
    *index = x.index;
  else if (p->index >= 0)
    *index = p->index;
  else
    r = -EPROTO;
 out:
  nl_socket_free (sk);
  return r;
}

int
attach_reconfigure (int index, const int *fds, unsigned nfds)
{
  struct nl_sock *sk = NULL;
  struct nl_msg *msg;
  struct exchange x;
  int family, r;

  r = family_open (&sk, &family);
  if (r < 0)
    return r;
  msg = message_new (family, NBD_CMD_RECONFIGURE);
  if (msg == NULL) {
    r = -ENOMEM;
    goto out;
  }
  if (nla_put_u32 (msg, NBD_ATTR_INDEX, index) < 0 ||
      message_put_sockets (msg, fds, nfds) < 0) {
    nlmsg_free (msg);
    r = -EMSGSIZE;
    goto out;
  }
  r = message_exchange (sk, msg, &x);
 out:
  nl_socket_free (sk);
  return r;
}

int
attach_disconnect (int index)
{
  struct nl_sock *sk = NULL;
  struct nl_msg *msg;
  struct exchange x;
  int family, r;

  r = family_open (&sk, &family);
  if (r < 0)
    return r;
  msg = message_new (family, NBD_CMD_DISCONNECT);
  if (msg == NULL) {
    r = -ENOMEM;
    goto out;
  }
  if (nla_put_u32 (msg, NBD_ATTR_INDEX, index) < 0) {
    nlmsg_free (msg);
    r = -EMSGSIZE;
    goto out;
  }
  r = message_exchange (sk, msg, &x);
 out:
  nl_socket_free (sk);
  return r;
}

struct attach_monitor {
  struct nl_sock *sk;
  int index;                    /* device being read for */
  unsigned dead;                /* dead links seen in this read */
};

static int
monitor_on_valid (struct nl_msg *msg, void *arg)
{
  struct attach_monitor *mon = arg;
  struct genlmsghdr *gh = genlmsg_hdr (nlmsg_hdr (msg));
  struct nlattr *tb[NBD_ATTR_MAX + 1];

  if (gh->cmd != NBD_CMD_LINK_DEAD)
    return NL_OK;
  if (genlmsg_parse (nlmsg_hdr (msg), 0, tb, NBD_ATTR_MAX, NULL) == 0 &&
      tb[NBD_ATTR_INDEX] &&
      (int) nla_get_u32 (tb[NBD_ATTR_INDEX]) == mon->index)
    mon->dead++;
  return NL_OK;
}

int
attach_monitor_open (struct attach_monitor **monp)
{
  struct attach_monitor *mon;
  int family, group, r;

  mon = calloc (1, sizeof *mon);
  if (mon == NULL)
    return -ENOMEM;
  r = family_open (&mon->sk, &family);
  if (r < 0) {
    free (mon);
    return r;
  }
  group = genl_ctrl_resolve_grp (mon->sk, NBD_GENL_FAMILY_NAME,
                                 NBD_GENL_MCAST_GROUP_NAME);
  if (group < 0) {
    r = -ENOPKG;
    goto fail;
  }
  nl_socket_disable_seq_check (mon->sk);
  if (nl_socket_add_membership (mon->sk, group) < 0 ||
      nl_socket_set_nonblocking (mon->sk) < 0) {
    r = -EIO;
    goto fail;
  }
  nl_socket_modify_cb (mon->sk, NL_CB_VALID, NL_CB_CUSTOM,
                       monitor_on_valid, mon);
  *monp = mon;
  return 0;
 fail:
  attach_monitor_close (mon);
  return r;
}

int
attach_monitor_fd (const struct attach_monitor *mon)
{
  return nl_socket_get_fd (mon->sk);
}

int
attach_monitor_read (struct attach_monitor *mon, int index, unsigned *dead)
{
  int r;

  mon->index = index;
  mon->dead = 0;
  for (;;) {
    r = nl_recvmsgs_default (mon->sk);
    if (r == -NLE_AGAIN)
      break;
    if (r < 0) {
      /* An overrun loses events; the caller re-checks the device. */
      if (r == -NLE_NOMEM || r == -NLE_DUMP_INTR)
        break;
      return -EIO;
    }
  }
  *dead += mon->dead;
  return 0;
}

void
attach_monitor_close (struct attach_monitor *mon)
{
  if (mon == NULL)
    return;
  nl_socket_free (mon->sk);
  free (mon);
}
