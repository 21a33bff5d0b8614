--
-- PostgreSQL database dump
--

\restrict WjMbWM6tREnV2T3buuoTgcM4m9YxyzmOAjHaYDvRMbVK5vRcf1SltCNcVEb7XMm

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: audit_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_events (
    id integer NOT NULL,
    election_id character varying(32) NOT NULL,
    seq integer NOT NULL,
    kind character varying(32) NOT NULL,
    actor character varying(64) NOT NULL,
    at character varying(32) NOT NULL,
    data text NOT NULL,
    prev_hash character varying(64) NOT NULL,
    hash character varying(64) NOT NULL
);


--
-- Name: audit_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.audit_events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: audit_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.audit_events_id_seq OWNED BY public.audit_events.id;


--
-- Name: ballots; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ballots (
    id character varying(32) NOT NULL,
    election_id character varying(32) NOT NULL,
    ciphertext bytea NOT NULL,
    fingerprint character varying(64) NOT NULL
);


--
-- Name: board_members; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.board_members (
    id integer NOT NULL,
    election_id character varying(32) NOT NULL,
    index integer NOT NULL,
    name text NOT NULL
);


--
-- Name: board_members_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.board_members_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: board_members_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.board_members_id_seq OWNED BY public.board_members.id;


--
-- Name: booths; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.booths (
    id character varying(32) NOT NULL,
    election_id character varying(32) NOT NULL,
    label text NOT NULL,
    pairing_hash character varying(64),
    pairing_expires double precision NOT NULL,
    secret_hash character varying(64),
    last_seen double precision NOT NULL,
    failed_codes integer NOT NULL,
    blocked_until double precision NOT NULL
);


--
-- Name: elections; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.elections (
    id character varying(32) NOT NULL,
    title text NOT NULL,
    organization text NOT NULL,
    place text NOT NULL,
    date character varying(10) NOT NULL,
    profile character varying(8) NOT NULL,
    convened integer NOT NULL,
    threshold integer NOT NULL,
    state character varying(8) NOT NULL,
    public_key bytea,
    manifest_json text,
    manifest_hash character varying(64),
    present_at_open integer,
    close_record_json text
);


--
-- Name: persons; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.persons (
    id integer NOT NULL,
    election_id character varying(32) NOT NULL,
    number integer NOT NULL,
    name text NOT NULL,
    "position" text NOT NULL,
    unit text NOT NULL
);


--
-- Name: persons_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.persons_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: persons_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.persons_id_seq OWNED BY public.persons.id;


--
-- Name: tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tokens (
    token_hash character varying(64) NOT NULL,
    election_id character varying(32) NOT NULL,
    state character varying(8) NOT NULL
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id integer NOT NULL,
    username character varying(64) NOT NULL,
    role character varying(16) NOT NULL,
    password_hash text NOT NULL,
    failed_logins integer NOT NULL,
    locked_until double precision NOT NULL
);


--
-- Name: users_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: users_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;


--
-- Name: voters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.voters (
    id integer NOT NULL,
    election_id character varying(32) NOT NULL,
    voter_id character varying(64) NOT NULL,
    name text NOT NULL,
    "position" text NOT NULL,
    checked_in boolean NOT NULL,
    slip_issued boolean NOT NULL
);


--
-- Name: voters_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.voters_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: voters_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.voters_id_seq OWNED BY public.voters.id;


--
-- Name: audit_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events ALTER COLUMN id SET DEFAULT nextval('public.audit_events_id_seq'::regclass);


--
-- Name: board_members id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.board_members ALTER COLUMN id SET DEFAULT nextval('public.board_members_id_seq'::regclass);


--
-- Name: persons id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.persons ALTER COLUMN id SET DEFAULT nextval('public.persons_id_seq'::regclass);


--
-- Name: users id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);


--
-- Name: voters id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.voters ALTER COLUMN id SET DEFAULT nextval('public.voters_id_seq'::regclass);


--
-- Data for Name: audit_events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.audit_events (id, election_id, seq, kind, actor, at, data, prev_hash, hash) FROM stdin;
1		1	user.created	admin	2026-11-27T16:44:34+00:00	{"role": "chair", "username": "chutri"}	0000000000000000000000000000000000000000000000000000000000000000	caf9b7060b29ff3076051c9de390ba7971d85517fbc057597629f7e77b122b81
2		2	user.created	admin	2026-11-27T16:44:34+00:00	{"role": "desk", "username": "banphat"}	caf9b7060b29ff3076051c9de390ba7971d85517fbc057597629f7e77b122b81	b7ef0c26252446667561dfa787420aea29f4fa674c139648c8f34aec9c0a364e
3	A5GF467ZGR8V6CWM	1	election.created	chair	2026-11-27T16:44:34+00:00	{"convened": 8, "members": 3, "persons": 3, "profile": "qd96", "threshold": 2, "title": "Hội nghị Ban Chấp hành Đảng bộ tỉnh lấy phiếu tín nhiệm giữa nhiệm kỳ", "voters": 8}	0000000000000000000000000000000000000000000000000000000000000000	f4f6d05150e8fd0496e1e8ea737fd4ef199be4e898b7fefee4ec8e9554be1a90
4	A5GF467ZGR8V6CWM	2	ceremony.completed	chair	2026-11-27T16:44:34+00:00	{"manifest_hash": "d2a9d8a19a4457b1f41e31fb17f096d09c89a4ae838d6b744c0f78b09c16be46", "shares": 3, "threshold": 2}	f4f6d05150e8fd0496e1e8ea737fd4ef199be4e898b7fefee4ec8e9554be1a90	56f17eaf2587bf8af0537040d8d8710a74cf9a45f536fad2f1e6966f57c11a37
5	A5GF467ZGR8V6CWM	3	voter.checked_in	desk	2026-11-27T16:44:34+00:00	{"voter_id": "V001"}	56f17eaf2587bf8af0537040d8d8710a74cf9a45f536fad2f1e6966f57c11a37	ab346fa115efe0399c647e39965dca40f4942be75c0de792965d127480d77f26
6	A5GF467ZGR8V6CWM	4	token.issued	desk	2026-11-27T16:44:34+00:00	{}	ab346fa115efe0399c647e39965dca40f4942be75c0de792965d127480d77f26	2b644aac4eaf043259c5604fe5221cede94bbe9a528c0b701850a6ed81d7e110
7	A5GF467ZGR8V6CWM	5	voter.checked_in	desk	2026-11-27T16:44:34+00:00	{"voter_id": "V002"}	2b644aac4eaf043259c5604fe5221cede94bbe9a528c0b701850a6ed81d7e110	701025ccec2baa16f8769df61ee58b5dc3cde5ad0d82c2fe9503d236db7bf35a
8	A5GF467ZGR8V6CWM	6	token.issued	desk	2026-11-27T16:44:34+00:00	{}	701025ccec2baa16f8769df61ee58b5dc3cde5ad0d82c2fe9503d236db7bf35a	e955ae46ea08630c54307fc2e4bd79a5d3a70698429854b33cbea659916ca420
9	A5GF467ZGR8V6CWM	7	voter.checked_in	desk	2026-11-27T16:44:34+00:00	{"voter_id": "V003"}	e955ae46ea08630c54307fc2e4bd79a5d3a70698429854b33cbea659916ca420	e89abe9863f768b685eec3f339ca07fe34878f2a3fe09fdfc8a98be5344b2abc
10	A5GF467ZGR8V6CWM	8	token.issued	desk	2026-11-27T16:44:35+00:00	{}	e89abe9863f768b685eec3f339ca07fe34878f2a3fe09fdfc8a98be5344b2abc	89c21131678af4c0649a334a25aa69c926b058ffc6d7d5b40adc3f43256cf67a
11	A5GF467ZGR8V6CWM	9	voter.checked_in	desk	2026-11-27T16:44:35+00:00	{"voter_id": "V004"}	89c21131678af4c0649a334a25aa69c926b058ffc6d7d5b40adc3f43256cf67a	55751a00f99fd66639e6c94e1a1195e0e6cddeeead4d975d2cf80b4e1a99538b
12	A5GF467ZGR8V6CWM	10	token.issued	desk	2026-11-27T16:44:35+00:00	{}	55751a00f99fd66639e6c94e1a1195e0e6cddeeead4d975d2cf80b4e1a99538b	b36c98b50642cb8875f742e84839325ab49886ef11e9b08d408f4156cf6bf9e8
13	A5GF467ZGR8V6CWM	11	voter.checked_in	desk	2026-11-27T16:44:35+00:00	{"voter_id": "V005"}	b36c98b50642cb8875f742e84839325ab49886ef11e9b08d408f4156cf6bf9e8	8f746ec17f0d20d7f7258f76c831047fea4f2bd5b9f863e0f647bb0e4bb4b2c5
14	A5GF467ZGR8V6CWM	12	token.issued	desk	2026-11-27T16:44:35+00:00	{}	8f746ec17f0d20d7f7258f76c831047fea4f2bd5b9f863e0f647bb0e4bb4b2c5	b39930cc6c330d7b8158d8a78c125f00241d6315bb9ca33e982f9b75776e9a43
15	A5GF467ZGR8V6CWM	13	voter.checked_in	desk	2026-11-27T16:44:35+00:00	{"voter_id": "V006"}	b39930cc6c330d7b8158d8a78c125f00241d6315bb9ca33e982f9b75776e9a43	2d9f0769c730bb954188119fc43d8bed629d4733b66e8b2e79699732cfcd82d5
16	A5GF467ZGR8V6CWM	14	token.issued	desk	2026-11-27T16:44:35+00:00	{}	2d9f0769c730bb954188119fc43d8bed629d4733b66e8b2e79699732cfcd82d5	a40262191ac6644ccce5bf732103ca45693ed85d98fc2456cc2fcfd9361487d7
17	A5GF467ZGR8V6CWM	15	election.opened	chair	2026-11-27T16:44:35+00:00	{"present": 6}	a40262191ac6644ccce5bf732103ca45693ed85d98fc2456cc2fcfd9361487d7	bd6e7895edc69d239bb611e10d64964a361d2c008607ad5d7a1c7b6ef4d92e21
18	A5GF467ZGR8V6CWM	16	token.spent	booth	2026-11-27T16:44:35+00:00	{"token_hash": "24a5c94243b5c61a90cee717ddeb42aa0c8f3860cee936a1321d38109f961c0e"}	bd6e7895edc69d239bb611e10d64964a361d2c008607ad5d7a1c7b6ef4d92e21	c3352d24667be7b990d8a19ae3ca16b16b6ddfe57fa2d11a2ca511ffb6898501
19	A5GF467ZGR8V6CWM	17	token.spent	booth	2026-11-27T16:44:35+00:00	{"token_hash": "b3a65420b1787d4238820195a41afe01e0683992bdd7c5d3854d3c0258020a67"}	c3352d24667be7b990d8a19ae3ca16b16b6ddfe57fa2d11a2ca511ffb6898501	04d557837f577fad811d5731f7f97d319bc629b11f10b6c3af7570a0369ec292
20	A5GF467ZGR8V6CWM	18	token.spent	booth	2026-11-27T16:44:35+00:00	{"token_hash": "fef23566dbd0023d1967e1182b7643649321505aa88863c5cbc53dfb0cdca4ee"}	04d557837f577fad811d5731f7f97d319bc629b11f10b6c3af7570a0369ec292	f4f110592336218cca21c015dad6d8c553c57da4586d2a499e02ba44cec23e5e
21	A5GF467ZGR8V6CWM	19	token.spent	booth	2026-11-27T16:44:35+00:00	{"token_hash": "0cb9fdf21b547ff080af70af61c14ed511c746ecd012e4e2fb34b5669240dbfb"}	f4f110592336218cca21c015dad6d8c553c57da4586d2a499e02ba44cec23e5e	86ad352402fa3c91d8c6ff93e7dddbc9d174f7e05e8d1df1bc02993535596235
\.


--
-- Data for Name: ballots; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.ballots (id, election_id, ciphertext, fingerprint) FROM stdin;
bdcfc3d8110540bb53d13c4bf31ea6aa	A5GF467ZGR8V6CWM	\\x8a2d1568dadc7ef056756d0c46590c89ba958d54b7c9e2c478367ebf44edc935f4305661d150e302f5a5540b433ceaac356858a8cb7043	3f486deeabc7d3485e6277efce752b38480f4e9cee755d8fd37e330f45559d29
77ea74af0ad0c392844bd82971254383	A5GF467ZGR8V6CWM	\\xc67f7d1948a4c6a3fe8674fd2c70bae709b394094dbbcc16e73bd0d0fdf80159516815a4e399b8597102d2e2ce6f5d4331dac271e48221	df6ec6cc4ac84096c6bbd007cae2c9de3d55687012483485ee519add78c8b69f
ad94a523ca50c895c2b0838dc4c0f987	A5GF467ZGR8V6CWM	\\xe8d4d1ce7d9fee6c337ced98bf11bd27befc53389ec6c4104c9c60b13a26e60e5ecedd7256c74a035562cc88f43a63fe05b706b238e3bc	c2d93b548c9adcf1de6e464edf07ee1aa3e2d0dcd32d70a2dedfb6892c4d807c
bbcfdb1750d2e0f48a4fff1f360a00a7	A5GF467ZGR8V6CWM	\\x464e4a077ac175ab8fcdfad62fe87626b5820c9f71e794d06008cdfce950b34f946cc95ecade967798270ad1428dd4441ea822b0d3ceba	bf698d2f6a008108e643a5928a143946dfe8f3dfa3781bb488558bcc39544306
\.


--
-- Data for Name: board_members; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.board_members (id, election_id, index, name) FROM stdin;
1	A5GF467ZGR8V6CWM	1	Lê Văn Kiểm 1
2	A5GF467ZGR8V6CWM	2	Lê Văn Kiểm 2
3	A5GF467ZGR8V6CWM	3	Lê Văn Kiểm 3
\.


--
-- Data for Name: booths; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.booths (id, election_id, label, pairing_hash, pairing_expires, secret_hash, last_seen, failed_codes, blocked_until) FROM stdin;
\.


--
-- Data for Name: elections; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.elections (id, title, organization, place, date, profile, convened, threshold, state, public_key, manifest_json, manifest_hash, present_at_open, close_record_json) FROM stdin;
A5GF467ZGR8V6CWM	Hội nghị Ban Chấp hành Đảng bộ tỉnh lấy phiếu tín nhiệm giữa nhiệm kỳ	Ủy ban nhân dân tỉnh Hà Giang	Hội trường Ủy ban nhân dân tỉnh	2026-11-27	qd96	8	2	open	\\xd28f71de6edd2f576db3f5b6c4baf843c6a3b65fa4d160581648fdad2396df79	{"ballot_ciphertext_length":55,"board":{"members":[{"index":1,"name":"Lê Văn Kiểm 1"},{"index":2,"name":"Lê Văn Kiểm 2"},{"index":3,"name":"Lê Văn Kiểm 3"}],"threshold":2},"convened":8,"date":"2026-11-27","election_id":"A5GF467ZGR8V6CWM","election_public_key":"d28f71de6edd2f576db3f5b6c4baf843c6a3b65fa4d160581648fdad2396df79","format":"cv-manifest","hpke":{"info":"cv-ballot-v1 NUL election_id NUL manifest_hash","mode":"base","suite":"DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"},"kiosk_public_key":"17080d95433cdb2251bba13c2f75bc102b576f9876f3f991a7c7b3e2a1ada7ba","levels":["high","trust","low"],"organization":"Ủy ban nhân dân tỉnh Hà Giang","persons":[{"name":"Nguyễn Văn Sơn 1","number":1,"position":"Phó Chủ tịch","unit":"Ủy ban nhân dân tỉnh"},{"name":"Nguyễn Văn Sơn 2","number":2,"position":"Phó Chủ tịch","unit":"Ủy ban nhân dân tỉnh"},{"name":"Nguyễn Văn Sơn 3","number":3,"position":"Phó Chủ tịch","unit":"Ủy ban nhân dân tỉnh"}],"place":"Hội trường Ủy ban nhân dân tỉnh","profile":"qd96","share_commitments":[{"hash":"5623c7c02813b9e48eec9a1a5451d9f362fbbc68d0807f05071b1ff51a434ae4","index":1},{"hash":"63ea9e5a0621942c5885a548c437d48e3e45bc04c673d700f0f1096edfc0ee6d","index":2},{"hash":"ead3a7bfca85802f7b623ed515ff3fb2c0cb7fc3d7364e3190bb6976d41785e4","index":3}],"title":"Hội nghị Ban Chấp hành Đảng bộ tỉnh lấy phiếu tín nhiệm giữa nhiệm kỳ","version":1}	d2a9d8a19a4457b1f41e31fb17f096d09c89a4ae838d6b744c0f78b09c16be46	6	\N
\.


--
-- Data for Name: persons; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.persons (id, election_id, number, name, "position", unit) FROM stdin;
1	A5GF467ZGR8V6CWM	1	Nguyễn Văn Sơn 1	Phó Chủ tịch	Ủy ban nhân dân tỉnh
2	A5GF467ZGR8V6CWM	2	Nguyễn Văn Sơn 2	Phó Chủ tịch	Ủy ban nhân dân tỉnh
3	A5GF467ZGR8V6CWM	3	Nguyễn Văn Sơn 3	Phó Chủ tịch	Ủy ban nhân dân tỉnh
\.


--
-- Data for Name: tokens; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.tokens (token_hash, election_id, state) FROM stdin;
0e82c8ae44580e91390cb73e4c08929809436629aee127d391087336dc2d761d	A5GF467ZGR8V6CWM	issued
4ccd8807f64d98a40d8abf9b3320bad9d2ad5a64a809e022afed259818339c09	A5GF467ZGR8V6CWM	issued
24a5c94243b5c61a90cee717ddeb42aa0c8f3860cee936a1321d38109f961c0e	A5GF467ZGR8V6CWM	spent
b3a65420b1787d4238820195a41afe01e0683992bdd7c5d3854d3c0258020a67	A5GF467ZGR8V6CWM	spent
fef23566dbd0023d1967e1182b7643649321505aa88863c5cbc53dfb0cdca4ee	A5GF467ZGR8V6CWM	spent
0cb9fdf21b547ff080af70af61c14ed511c746ecd012e4e2fb34b5669240dbfb	A5GF467ZGR8V6CWM	spent
\.


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.users (id, username, role, password_hash, failed_logins, locked_until) FROM stdin;
1	chutri	chair	scrypt$32768$8$1$8dc9cad205bf0b6100766f8a3190039f$72c189434c54d021c1816f2d7db52145ff3a1ac5d46e74e98257765d1adf3732	0	0
2	banphat	desk	scrypt$32768$8$1$51d97b618fa4567b8d6fdc6ae53c2f31$ef109dcd0abb53d0b36cb4d6d71dc08656bde03feacd50655fe03e877683bfb0	0	0
\.


--
-- Data for Name: voters; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.voters (id, election_id, voter_id, name, "position", checked_in, slip_issued) FROM stdin;
7	A5GF467ZGR8V6CWM	V007	Trần Thị Hương 7	Ủy viên	f	f
8	A5GF467ZGR8V6CWM	V008	Trần Thị Hương 8	Ủy viên	f	f
1	A5GF467ZGR8V6CWM	V001	Trần Thị Hương 1	Ủy viên	t	t
2	A5GF467ZGR8V6CWM	V002	Trần Thị Hương 2	Ủy viên	t	t
3	A5GF467ZGR8V6CWM	V003	Trần Thị Hương 3	Ủy viên	t	t
4	A5GF467ZGR8V6CWM	V004	Trần Thị Hương 4	Ủy viên	t	t
5	A5GF467ZGR8V6CWM	V005	Trần Thị Hương 5	Ủy viên	t	t
6	A5GF467ZGR8V6CWM	V006	Trần Thị Hương 6	Ủy viên	t	t
\.


--
-- Name: audit_events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.audit_events_id_seq', 21, true);


--
-- Name: board_members_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.board_members_id_seq', 3, true);


--
-- Name: persons_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.persons_id_seq', 3, true);


--
-- Name: users_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.users_id_seq', 2, true);


--
-- Name: voters_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.voters_id_seq', 8, true);


--
-- Name: audit_events audit_events_election_id_seq_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_election_id_seq_key UNIQUE (election_id, seq);


--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (id);


--
-- Name: ballots ballots_fingerprint_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ballots
    ADD CONSTRAINT ballots_fingerprint_key UNIQUE (fingerprint);


--
-- Name: ballots ballots_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ballots
    ADD CONSTRAINT ballots_pkey PRIMARY KEY (id);


--
-- Name: board_members board_members_election_id_index_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.board_members
    ADD CONSTRAINT board_members_election_id_index_key UNIQUE (election_id, index);


--
-- Name: board_members board_members_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.board_members
    ADD CONSTRAINT board_members_pkey PRIMARY KEY (id);


--
-- Name: booths booths_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.booths
    ADD CONSTRAINT booths_pkey PRIMARY KEY (id);


--
-- Name: elections elections_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.elections
    ADD CONSTRAINT elections_pkey PRIMARY KEY (id);


--
-- Name: persons persons_election_id_number_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.persons
    ADD CONSTRAINT persons_election_id_number_key UNIQUE (election_id, number);


--
-- Name: persons persons_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.persons
    ADD CONSTRAINT persons_pkey PRIMARY KEY (id);


--
-- Name: tokens tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tokens
    ADD CONSTRAINT tokens_pkey PRIMARY KEY (token_hash);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: users users_username_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_username_key UNIQUE (username);


--
-- Name: voters voters_election_id_voter_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.voters
    ADD CONSTRAINT voters_election_id_voter_id_key UNIQUE (election_id, voter_id);


--
-- Name: voters voters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.voters
    ADD CONSTRAINT voters_pkey PRIMARY KEY (id);


--
-- Name: ix_audit_events_election_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_events_election_id ON public.audit_events USING btree (election_id);


--
-- Name: ix_ballots_election_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_ballots_election_id ON public.ballots USING btree (election_id);


--
-- Name: ix_tokens_election_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_tokens_election_id ON public.tokens USING btree (election_id);


--
-- Name: ix_voters_election_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_voters_election_id ON public.voters USING btree (election_id);


--
-- Name: ballots ballots_election_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ballots
    ADD CONSTRAINT ballots_election_id_fkey FOREIGN KEY (election_id) REFERENCES public.elections(id);


--
-- Name: board_members board_members_election_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.board_members
    ADD CONSTRAINT board_members_election_id_fkey FOREIGN KEY (election_id) REFERENCES public.elections(id);


--
-- Name: booths booths_election_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.booths
    ADD CONSTRAINT booths_election_id_fkey FOREIGN KEY (election_id) REFERENCES public.elections(id);


--
-- Name: persons persons_election_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.persons
    ADD CONSTRAINT persons_election_id_fkey FOREIGN KEY (election_id) REFERENCES public.elections(id);


--
-- Name: tokens tokens_election_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tokens
    ADD CONSTRAINT tokens_election_id_fkey FOREIGN KEY (election_id) REFERENCES public.elections(id);


--
-- Name: voters voters_election_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.voters
    ADD CONSTRAINT voters_election_id_fkey FOREIGN KEY (election_id) REFERENCES public.elections(id);


--
-- PostgreSQL database dump complete
--

\unrestrict WjMbWM6tREnV2T3buuoTgcM4m9YxyzmOAjHaYDvRMbVK5vRcf1SltCNcVEb7XMm

