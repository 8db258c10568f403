# bash completion for bmdctl(8) and bmd(8).
# Commands and options come from `bmdctl help`, so they follow the program;
# VM names from `bmdctl list`, asked of bmd with the caller's rights (nothing
# when bmd is not running or the caller may see no VM).  No VM names for
# remote hosts (-H, BMD_HOSTS): completing must not log in anywhere.

# The global options already typed (-f config, -s socket), for the
# bmdctl runs made while completing; _bmdctl_remote: -H was given.
_bmdctl_globals()
{
	local i
	_bmdctl_g=()
	_bmdctl_remote=${BMD_HOSTS:+1}
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-f|-s)	_bmdctl_g+=("${COMP_WORDS[i]}" "${COMP_WORDS[i+1]}")
			((i++)) ;;
		-H)	_bmdctl_remote=1
			((i++)) ;;
		-*)	;;
		*)	break ;;
		esac
	done
	_bmdctl_cmdidx=$i
}

_bmdctl_vms()
{
	[[ -z $_bmdctl_remote ]] || return
	"${COMP_WORDS[0]}" "${_bmdctl_g[@]}" list 2>/dev/null |
	    awk 'NR > 2 { print $2 }'
}

_bmdctl_commands()
{
	"${COMP_WORDS[0]}" help 2>/dev/null |
	    sed -n 's/^  \([a-z0-9]*\)\(|\([a-z]*\)\)\{0,1\}\( .*\)\{0,1\}$/\1 \3/p'
}

# The options in a command's usage line: [-c], [-s COL], [--json].
_bmdctl_options()
{
	"${COMP_WORDS[0]}" help "$1" 2>/dev/null |
	    sed -n 's/^usage: bmdctl \[-f config\] \[-s socket\] //p' |
	    grep -o '\[--*[a-z0-9-]*' | tr -d '['
	echo --help
}

_bmdctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmd words
	COMPREPLY=()
	_bmdctl_globals
	if ((COMP_CWORD < _bmdctl_cmdidx)) && [[ $prev == -[fs] ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))	# a global -f or -s
		return
	fi
	if ((COMP_CWORD < _bmdctl_cmdidx)) && [[ $prev == -H ]]; then
		[[ $cur == @* ]] &&	# a hosts file
		    COMPREPLY=($(compgen -f -P @ -- "${cur#@}")) ||
		    COMPREPLY=($(compgen -W "ssh://" -- "$cur"))
		return
	fi
	if ((COMP_CWORD <= _bmdctl_cmdidx)); then
		if [[ $cur == -* ]]; then
			words="-f -s -H -h --help -V --version"
		else
			words=$(_bmdctl_commands)
		fi
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
		return
	fi
	cmd=${COMP_WORDS[_bmdctl_cmdidx]}
	case $cmd in
	stop)	cmd=shutdown ;;
	start)	cmd=boot ;;
	esac
	if [[ $cur == -* ]]; then
		if [[ $cmd == show ]]; then
			words="--json --help"
		else
			words=$(_bmdctl_options "$cmd")
		fi
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
		return
	fi
	case $cmd in
	help)
		((COMP_CWORD == _bmdctl_cmdidx + 1)) &&
		    words=$(_bmdctl_commands) ;;
	list)
		[[ $prev == -s ]] &&
		    words="id name ncpu memory loader state owner" ;;
	reload|metrics|stdio)	;;
	show)
		if ((COMP_CWORD == _bmdctl_cmdidx + 1)); then
			words="config command network console com1 com2 com3 com4 keys"
		elif [[ ${COMP_WORDS[_bmdctl_cmdidx+1]} != keys ]]; then
			words=$(_bmdctl_vms)
		fi ;;
	*)	words=$(_bmdctl_vms) ;;
	esac
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _bmdctl bmdctl

_bmd()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	COMPREPLY=()
	case $prev in
	-f|-P)	COMPREPLY=($(compgen -f -- "$cur")); return ;;
	-p)	COMPREPLY=($(compgen -d -- "$cur")); return ;;
	-m)	COMPREPLY=($(compgen -W "0600 0660 0666" -- "$cur")); return ;;
	esac
	COMPREPLY=($(compgen -W "-F -f -n -P -p -m -h --help -V --version" \
	    -- "$cur"))
}
complete -F _bmd bmd
