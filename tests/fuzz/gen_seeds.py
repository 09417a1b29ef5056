#!/usr/bin/env python3
"""gen_seeds.py — write the hand-made seed inputs of tests/fuzz/corpus/.

Each seed is a small valid (or deliberately edge-case) input in the format
the target's header comment describes. Run from the source root; files are
rewritten in place, so the committed corpus can be regenerated at will.
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# netif.h values
NETTXF_csum_blank, NETTXF_data_validated, NETTXF_more_data, NETTXF_extra_info = 1, 2, 4, 8
NETRXF_data_validated, NETRXF_csum_blank, NETRXF_more_data, NETRXF_extra_info = 1, 2, 4, 8
EXTRA_GSO, EXTRA_MCAST_ADD, EXTRA_MCAST_DEL, EXTRA_HASH = 1, 2, 3, 4
EXTRA_FLAG_MORE = 1
GSO_TCPV4, GSO_TCPV6 = 1, 2


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def tx_req(gref, offset, flags, rid, size):
    return struct.pack("<IHHHH", gref, offset, flags, rid, size)


def extra_gso(size, gtype, flags=0):
    return struct.pack("<BBHBBH", EXTRA_GSO, flags, size, gtype, 0, 0) + bytes(4)


def extra_mcast(etype, mac, flags=0):
    return struct.pack("<BB", etype, flags) + bytes(mac) + bytes(4)


def tx_round(slots, ahead=None, muts=()):
    out = struct.pack("<HB", len(slots) if ahead is None else ahead, len(slots))
    out += b"".join(slots)
    out += struct.pack("<B", len(muts)) + b"".join(muts)
    return out


def netback_tx():
    one = tx_req(1, 0, 0, 5, 60)
    write("netback_tx", "one_slot", b"\x00" + tx_round([one]))
    two = [tx_req(1, 0, NETTXF_more_data, 1, 5000), tx_req(2, 100, 0, 2, 1000)]
    write("netback_tx", "two_slots", b"\x01" + tx_round(two))
    gso = [tx_req(3, 0, NETTXF_csum_blank | NETTXF_extra_info, 7, 120),
           extra_gso(1448, GSO_TCPV4)]
    write("netback_tx", "gso_extra", b"\x03" + tx_round(gso))
    mc = [tx_req(0, 0, NETTXF_extra_info, 9, 0),
          extra_mcast(EXTRA_MCAST_ADD, [0x01, 0, 0x5e, 0, 0, 1])]
    write("netback_tx", "mcast_add", b"\x08" + tx_round(mc))
    # the frontend rewrites slot 0 during the copy, and pushes req_prod on
    mut = [struct.pack("<B", 0) + tx_req(9, 4000, NETTXF_more_data, 77, 4096),
           struct.pack("<B", 0xff) + tx_req(0, 0, 0, 0, 300)]
    write("netback_tx", "changed_under_copy",
          b"\x00" + tx_round([one]) + tx_round([tx_req(2, 0, 0, 6, 80)], muts=mut))
    write("netback_tx", "prod_too_far", b"\x00" + tx_round([one], ahead=300))
    write("netback_tx", "bad_size", b"\x00" + tx_round([tx_req(1, 4090, 0, 1, 60)]))


def tcp4_frame(payload=b"x" * 60):
    eth = bytes([0, 0x16, 0x3e, 0, 0, 1, 0, 0x16, 0x3e, 0, 0, 2, 0x08, 0x00])
    tcp = struct.pack(">HHIIBBHHH", 1234, 80, 1, 0, 5 << 4, 0x18, 65535, 0, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return eth + ip + tcp + payload


def netback_extra():
    # u8 pushed, u8 start index, the slots, then the frame
    f = tcp4_frame()
    write("netback_extra", "gso",
          struct.pack("<BB", 2, 0xfe) +
          tx_req(1, 0, NETTXF_csum_blank | NETTXF_extra_info, 1, len(f)) +
          extra_gso(1448, GSO_TCPV4) + f)
    write("netback_extra", "csum_two_slots",
          struct.pack("<BB", 2, 0) +
          tx_req(1, 4000, NETTXF_csum_blank | NETTXF_more_data, 1, len(f)) +
          tx_req(2, 0, 0, 2, len(f) - 96) + f)
    write("netback_extra", "gso_then_mcast",
          struct.pack("<BB", 3, 0) + tx_req(1, 0, NETTXF_extra_info, 1, 64) +
          extra_gso(1000, GSO_TCPV4, EXTRA_FLAG_MORE) +
          extra_mcast(EXTRA_MCAST_DEL, [0x33, 0x33, 0, 0, 0, 1]))
    write("netback_extra", "repeated_type",
          struct.pack("<BB", 3, 0) + tx_req(1, 0, NETTXF_extra_info, 1, 64) +
          extra_gso(1000, GSO_TCPV4, EXTRA_FLAG_MORE) + extra_gso(1000, GSO_TCPV4))


def rx_rsp(rid, offset, flags, status):
    return struct.pack("<HHHh", rid, offset, flags, status)


def netfront():
    # ops: see fuzz_netfront_rsp.c
    OP_PUT, OP_PUSH, OP_TXRSP, OP_TXPROD, OP_GC, OP_RXRSP, OP_RXPROD, OP_PULL, OP_NEXT, OP_REFILL = range(10)
    # one frame sent and answered OKAY
    tx = (bytes([0x01, OP_PUT]) + struct.pack("<HBH", 60, 0, 0) + bytes([OP_PUSH]) +
          bytes([OP_TXRSP, 0]) + struct.pack("<Hh", 0, 0) + bytes([OP_TXPROD]) +
          struct.pack("<H", 1) + bytes([OP_GC]))
    write("netfront_rsp", "tx_one", tx)
    # GSO frame: first slot, the extra (NULL response), a second page
    gso = (bytes([0x07, OP_PUT]) + struct.pack("<HBH", 5000, 1, 1448) + bytes([OP_PUSH]) +
           bytes([OP_TXRSP, 0]) + struct.pack("<Hh", 0, 0) +
           bytes([OP_TXRSP, 1]) + struct.pack("<Hh", 0, 1) +
           bytes([OP_TXRSP, 2]) + struct.pack("<Hh", 1, 0) +
           bytes([OP_TXPROD]) + struct.pack("<H", 3) + bytes([OP_GC]))
    write("netfront_rsp", "tx_gso", gso)
    # a two-slot frame received
    rx = (bytes([0x01, OP_REFILL, OP_RXRSP, 0]) + rx_rsp(0, 0, NETRXF_more_data, 4096) +
          bytes([OP_RXRSP, 1]) + rx_rsp(1, 0, 0, 100) +
          bytes([OP_RXPROD]) + struct.pack("<H", 2) + bytes([OP_PULL, OP_NEXT, OP_REFILL]))
    write("netfront_rsp", "rx_two_slots", rx)
    rxg = (bytes([0x07, OP_REFILL, OP_RXRSP, 0]) +
           rx_rsp(0, 0, NETRXF_extra_info | NETRXF_csum_blank, 1500) +
           bytes([OP_RXRSP, 1]) + extra_gso(1448, GSO_TCPV4)[:8] +
           bytes([OP_RXPROD]) + struct.pack("<H", 2) + bytes([OP_PULL, OP_NEXT]))
    write("netfront_rsp", "rx_gso", rxg)
    write("netfront_rsp", "tx_id_not_outstanding",
          bytes([0x01, OP_PUT]) + struct.pack("<HBH", 60, 0, 0) + bytes([OP_PUSH]) +
          bytes([OP_TXRSP, 0]) + struct.pack("<Hh", 5, 0) + bytes([OP_TXPROD]) +
          struct.pack("<H", 1) + bytes([OP_GC]))


(XS_CONTROL, XS_DIRECTORY, XS_READ, XS_GET_PERMS, XS_WATCH, XS_UNWATCH,
 XS_TRANSACTION_START, XS_TRANSACTION_END, XS_INTRODUCE, XS_RELEASE,
 XS_GET_DOMAIN_PATH, XS_WRITE, XS_MKDIR, XS_RM, XS_SET_PERMS) = range(15)
XS_IS_DOMAIN_INTRODUCED, XS_SET_TARGET, XS_RESET_WATCHES, XS_DIRECTORY_PART = 17, 19, 21, 22


def xs(mtype, *args, req=1, tx=0, raw=None):
    body = raw if raw is not None else b"".join(a.encode() + b"\0" for a in args)
    return struct.pack("<IIII", mtype, req, tx, len(body)) + body


def store_wire():
    # byte 0: 1 = domain 0, 0 = guest domain 1; then xs_wire messages
    write("store_wire", "dom0_basics", b"\x01" +
          xs(XS_WRITE, raw=b"/a/b\0value") + xs(XS_READ, "/a/b", req=2) +
          xs(XS_DIRECTORY, "/a", req=3) + xs(XS_GET_PERMS, "/a/b", req=4) +
          xs(XS_SET_PERMS, "/a/b", "n0", "r1", req=5) + xs(XS_MKDIR, "/c/d", req=6) +
          xs(XS_RM, "/c", req=7) + xs(XS_DIRECTORY_PART, "/", "0", req=8))
    write("store_wire", "guest_txn", b"\x00" +
          xs(XS_TRANSACTION_START, "") + xs(XS_WRITE, raw=b"data/x\01", req=2, tx=1) +
          xs(XS_READ, "data/x", req=3, tx=1) + xs(XS_TRANSACTION_END, "T", req=4, tx=1) +
          xs(XS_READ, "data/x", req=5))
    write("store_wire", "guest_watch", b"\x00" +
          xs(XS_WATCH, "data", "tok") + xs(XS_WRITE, raw=b"data/y\0v", req=2) +
          xs(XS_UNWATCH, "data", "tok", req=3) + xs(XS_WATCH, "@releaseDomain", "t2", req=4) +
          xs(XS_RESET_WATCHES, "", req=5))
    write("store_wire", "dom0_domains", b"\x01" +
          xs(XS_INTRODUCE, "2", "0", "0") + xs(XS_IS_DOMAIN_INTRODUCED, "2", req=2) +
          xs(XS_GET_DOMAIN_PATH, "2", req=3) + xs(XS_SET_TARGET, "2", "1", req=4) +
          xs(XS_RELEASE, "2", req=5))
    write("store_wire", "dom0_control", b"\x01" +
          xs(XS_CONTROL, "quota") + xs(XS_CONTROL, "quota", "nodes", "10", req=2) +
          xs(XS_CONTROL, "dump", "/", req=3) + xs(XS_CONTROL, "check", req=4))
    write("store_wire", "oversized_then_read", b"\x00" +
          struct.pack("<IIII", XS_WRITE, 1, 0, 5000) + b"z" * 5000 +
          xs(XS_READ, "name", req=2))
    write("store_wire", "truncated", b"\x00" + xs(XS_READ, "name") +
          struct.pack("<IIII", XS_READ, 2, 0, 100) + b"dat")
    write("store_wire", "guest_denied", b"\x00" +
          xs(XS_WRITE, raw=b"/local/domain/0/x\0v") + xs(XS_INTRODUCE, "3", "0", "0", req=2) +
          xs(XS_TRANSACTION_END, "F", req=3, tx=77))


def vifspec():
    specs = {
        "full": "mac=00:16:3e:01:02:03,bridge=xenbr0,vifname=vif1.0,script=vif-bridge,"
                "ip=10.0.0.2 10.0.0.3,rate=10Mb/s@20ms,mtu=9000,devid=3,backend=0,"
                "type=vif,model=e1000,gatewaydev=eth0,nic=4,mode=bridge,pool=p,vlan=10",
        "minimal": "bridge=xenbr0",
        "empty": "",
        "rate_bytes": "rate=1MB/s",
        "spaces": " mac=00:16:3e:aa:bb:cc , mtu=1500 ",
        "bad_mac": "mac=00:16:3e:01:02",
        "repeated": "mtu=1500,mtu=1400",
        "rate_overflow": "rate=18446744073709551615GB/s@1000000s",
    }
    for name, text in specs.items():
        write("vifspec", name, text.encode())


BE = "/local/domain/0/backend/vif/1/0"
FE = "/local/domain/1/device/vif/0"


def vif_tree(state="4", extra=()):
    kv = [(BE + "/frontend", FE), (BE + "/frontend-id", "1"), (BE + "/online", "1"),
          (BE + "/state", state), (BE + "/handle", "0"), (BE + "/mac", "00:16:3e:01:02:03"),
          (BE + "/bridge", "xenbr0"), (BE + "/script", "vif-bridge"), (BE + "/type", "vif"),
          (BE + "/hotplug-status", "connected"), (BE + "/feature-sg", "1"),
          (BE + "/feature-rx-copy", "1"), (BE + "/feature-rx-flip", "0"),
          (BE + "/multi-queue-max-queues", "4"), (BE + "/feature-split-event-channels", "1"),
          (FE + "/backend", BE), (FE + "/backend-id", "0"), (FE + "/state", state),
          (FE + "/handle", "0"), (FE + "/mac", "00:16:3e:01:02:03"),
          (FE + "/request-rx-copy", "1"), (FE + "/feature-rx-notify", "1"),
          (FE + "/tx-ring-ref", "10"), (FE + "/rx-ring-ref", "11"),
          (FE + "/event-channel", "3")] + list(extra)
    return "".join("%s=%s\n" % (k, v) for k, v in kv).encode()


def schema():
    write("schema", "tree_connected", vif_tree())
    write("schema", "tree_garbage", vif_tree("9", [(BE + "/mac", "ff:ff:ff:ff:ff:ff"),
                                                   (FE + "/tx-ring-ref", "-1"),
                                                   (BE + "/colo_x", "1"),
                                                   (FE + "/queue-0/tx-ring-ref", "12")]))
    with open(os.path.join(os.path.dirname(ROOT), "..", "..", "xenstore-schema",
                           "vif.schema"), "rb") as f:
        builtin = f.read()
    write("schema", "builtin_schema", builtin + b"%%\n" + vif_tree("2"))
    small = ("dir back  /local/domain/<bdom>/backend/vif/<domid>/<devid>\n"
             "dir front /local/domain/<domid>/device/vif/<devid>\n"
             "back state toolstack,backend state req | The backend's state.\n"
             "front mac toolstack mac opt | The MAC.\n"
             "back mode toolstack enum(bridge,route) opt | How.\n"
             "back mtu toolstack uint(68..65535) opt | MTU.\n%%\n")
    write("schema", "small_schema", small.encode() + vif_tree())
    write("schema", "bad_schema", b"dir back /x/<nope>\nback k writer type req | d\n%%\n")


def creq(rid, rtype, d0=0, d1=0, d2=0):
    return struct.pack("<HHIII", rid, rtype, d0, d1, d2)


def ctrl_reqs(reqs, ahead=None, muts=()):
    out = bytes([0, len(reqs)]) + b"".join(reqs)
    out += struct.pack("<HB", len(reqs) if ahead is None else ahead, len(muts))
    return out + b"".join(muts)


def ctrl_page(gref, off, data):
    return bytes([1, gref]) + struct.pack("<HB", off, len(data)) + data


def netback_ctrl():
    # ops: see fuzz_netback_ctrl.c; types and statuses from netif.h
    SET_FLAGS, GET_FLAGS, SET_KEY, GET_MSIZE, SET_MSIZE, SET_MAP, SET_ALG = 2, 1, 3, 4, 5, 6, 7
    GET_GSIZE, ADD_GREF, DEL_GREF = 8, 9, 10
    key = bytes(range(1, 41))
    table = struct.pack("<4I", 0, 1, 2, 3)
    frame = tcp4_frame()
    write("netback_ctrl", "hash_setup", bytes([3]) + ctrl_page(1, 0, key) +
          ctrl_page(2, 0, table) +
          ctrl_reqs([creq(1, SET_ALG, 1), creq(2, GET_FLAGS), creq(3, SET_FLAGS, 0xf),
                     creq(4, SET_KEY, 1, 40), creq(5, SET_MSIZE, 4), creq(6, SET_MAP, 2, 4, 0),
                     creq(7, GET_MSIZE)]) +
          bytes([3]) + struct.pack("<H", len(frame)) + frame)
    grefs = struct.pack("<IHH", 5, 0, 0) + struct.pack("<IHH", 6, 1, 0)
    write("netback_ctrl", "static_grants", bytes([1]) + ctrl_page(3, 0, grefs) +
          ctrl_reqs([creq(1, GET_GSIZE, 0), creq(2, ADD_GREF, 0, 3, 2)]) +
          bytes([4, 5]) + struct.pack("<HHB", 0, 100, 0) +
          bytes([4, 6]) + struct.pack("<HHB", 10, 100, 1) +
          bytes([2, 1, 0]) + struct.pack("<HHI", 0, 0, 5) + bytes(4) + bytes([1]) +
          ctrl_reqs([creq(3, DEL_GREF, 0, 3, 2)]))
    write("netback_ctrl", "prod_too_far", bytes([0]) + ctrl_reqs([creq(1, GET_MSIZE)], ahead=200))
    write("netback_ctrl", "changed_under_copy", bytes([0]) + ctrl_page(1, 0, key) +
          ctrl_reqs([creq(1, SET_ALG, 1), creq(2, SET_KEY, 1, 40), creq(3, GET_MSIZE)],
                    muts=[bytes([2]) + creq(9, SET_MSIZE, 100),
                          bytes([0xff]) + creq(300, 0)]))


def vnet_hdr(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_off=0):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_off)


def rx_round(frames, reqs, ahead=None, step=0, muts=()):
    out = bytes([len(frames)])
    for f in frames:
        out += struct.pack("<H", len(f)) + f
    out += bytes([len(reqs)]) + b"".join(struct.pack("<HHI", rid, 0, gref) for rid, gref in reqs)
    out += struct.pack("<HBB", len(reqs) if ahead is None else ahead, step, len(muts))
    return out + b"".join(muts)


def netback_rx():
    f = vnet_hdr() + tcp4_frame()
    write("netback_rx", "one_frame", b"\x01" + rx_round([f], [(0, 1)]))
    big = vnet_hdr() + tcp4_frame(b"y" * 5000)
    write("netback_rx", "two_slots", b"\x01" + rx_round([big], [(7, 1), (8, 2)]))
    gso = vnet_hdr(1, 1, 54, 1448, 34, 16) + tcp4_frame(b"z" * 3000)
    write("netback_rx", "gso_hash", b"\x1b" + rx_round([gso], [(1, 1), (2, 2), (3, 3)]))
    write("netback_rx", "held_then_drained", b"\x01" + rx_round([f, f], []) +
          rx_round([f], [], step=250) + rx_round([f], [], step=250) +
          rx_round([], [(4, 4), (5, 5)]))
    write("netback_rx", "copy_fails_changed", b"\x01" +
          rx_round([f, f], [(0, 15), (1, 2)],
                   muts=[bytes([0]) + struct.pack("<HHI", 99, 0, 3),
                         bytes([0xff]) + struct.pack("<HHI", 500, 0, 0)]) +
          rx_round([f], [(2, 1)]))
    write("netback_rx", "prod_too_far", b"\x01" + rx_round([f], [(0, 1)], ahead=257))


VIF_MAC = bytes([0x00, 0x16, 0x3e, 0x01, 0x02, 0x03])


def eth(ethertype, payload, src=VIF_MAC):
    return bytes([0xff] * 6) + src + struct.pack(">H", ethertype) + payload


def ipv4(src, proto, payload, dst=bytes([10, 0, 0, 2])):
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0,
                       bytes(src), dst) + payload


def policy_head(flags, vlan, mtu, iplist):
    return struct.pack("<BHHB", flags, vlan, mtu, len(iplist)) + iplist.encode()


def netback_policy():
    ips = "10.0.0.1 fe80::/10 192.168.0.0/16"
    udp = struct.pack(">HHHH", 68, 67, 8, 0)
    write("netback_policy", "ipv4_listed", policy_head(7, 9, 1500, ips) + vnet_hdr() +
          eth(0x0800, ipv4([10, 0, 0, 1], 6, bytes(20))))
    write("netback_policy", "ipv4_spoofed", policy_head(6, 0, 1500, ips) + vnet_hdr() +
          eth(0x0800, ipv4([10, 0, 0, 9], 6, bytes(20))))
    write("netback_policy", "dhcp_discover", policy_head(2, 0, 0, ips) + vnet_hdr() +
          eth(0x0800, ipv4([0, 0, 0, 0], 17, udp)))
    arp = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + VIF_MAC + bytes([10, 0, 0, 1]) + \
        bytes(6) + bytes([10, 0, 0, 2])
    write("netback_policy", "arp_listed", policy_head(2, 0, 0, ips) + vnet_hdr() + eth(0x0806, arp))
    tagged = eth(0x8100, struct.pack(">HH", 10, 0x0800) + ipv4([10, 0, 0, 1], 6, bytes(20)))
    write("netback_policy", "tagged_vlan10", policy_head(1, 9, 0, "") +
          vnet_hdr(1, 0, 0, 0, 38, 16) + tagged)
    write("netback_policy", "gso_mtu", policy_head(4, 0, 1500, "") +
          vnet_hdr(1, 1, 54, 1448, 34, 16) + eth(0x0800, ipv4([10, 0, 0, 1], 6, bytes(3000))))
    write("netback_policy", "bad_iplist", policy_head(2, 0, 0, "10.0.0.1  10.0.0.300/33") +
          vnet_hdr() + eth(0x0800, ipv4([10, 0, 0, 1], 6, bytes(20))))


def ipv6(nh, payload, src=bytes(15) + b"\x01"):
    return struct.pack(">IHBB", 6 << 28, len(payload), nh, 64) + src + bytes(15) + b"\x02" + payload


def netfront_vnet():
    # u8 flags | gso << 4, u16 gso_size, virtio-net header, frame
    tcp = struct.pack(">HHIIBBHHH", 1234, 80, 1, 0, 5 << 4, 0x18, 65535, 0, 0)
    udp = struct.pack(">HHHH", 5353, 5353, 8 + 4, 0) + b"abcd"
    write("netfront_vnet", "tcp4_blank", struct.pack("<BH", 1, 0) + vnet_hdr() +
          eth(0x0800, ipv4([10, 0, 0, 1], 6, tcp + b"x" * 40)))
    write("netfront_vnet", "tcp4_gso", struct.pack("<BH", 0x11, 1448) + vnet_hdr(1, 1, 54, 1448) +
          eth(0x0800, ipv4([10, 0, 0, 1], 6, tcp + b"x" * 3000)))
    hop = bytes([17, 0]) + bytes(6)
    write("netfront_vnet", "udp6_hop_by_hop", struct.pack("<BH", 1, 0) + vnet_hdr() +
          eth(0x86dd, ipv6(0, hop + udp)))
    write("netfront_vnet", "vlan_udp4", struct.pack("<BH", 1, 0) + vnet_hdr() +
          eth(0x8100, struct.pack(">HH", 5, 0x0800) + ipv4([10, 0, 0, 1], 17, udp)))
    # a hop-by-hop header claiming 2 KiB: the L4 header would be past the end
    long_hop = bytes([6, 255]) + bytes(6)
    write("netfront_vnet", "ipv6_ext_past_end", struct.pack("<BH", 1, 0) + vnet_hdr() +
          eth(0x86dd, ipv6(0, long_hop + tcp)))


if __name__ == "__main__":
    netback_tx()
    netback_extra()
    netfront()
    store_wire()
    vifspec()
    schema()
    netback_ctrl()
    netback_rx()
    netback_policy()
    netfront_vnet()
