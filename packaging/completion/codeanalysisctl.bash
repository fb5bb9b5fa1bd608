# bash completion for codeanalysisctl                                  -*- shell-script -*-
# Commands, their options, worker names, and project ids (asked of the running suite).

_codeanalysisctl_projects() {
    local user=$1
    codeanalysisctl $user --json projects 2>/dev/null | sed -n 's/^ *"id": "\(.*\)",*$/\1/p'
}

_codeanalysisctl() {
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
    }
    local commands="status projects add remove search semantic def refs outline imports chain hierarchy calls usages show history restore repair check problems worker"
    local user="" command="" i n=0
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --user) user=--user ;;
            -*) ;;
            *) if [[ -z $command ]]; then command=${words[i]}; else ((n++)); fi ;;
        esac
    done
    if [[ -z $command ]]; then
        COMPREPLY=($(compgen -W "$commands --user --json --help --version" -- "$cur"))
        return
    fi
    case $prev in
        -p|--project) COMPREPLY=($(compgen -W "$(_codeanalysisctl_projects "$user")" -- "$cur")); return ;;
        -k|--kind) COMPREPLY=($(compgen -W "class function async_function method async_method" -- "$cur")); return ;;
        -n|--limit|--version|-d|--depth|--batch-size|--poll-interval|--timeout) return ;;
    esac
    local opts="--user --json --help"
    case $command in
        search|refs) opts+=" --project --limit" ;;
        semantic) opts+=" --project --limit --hybrid" ;;
        def) opts+=" --project --kind --limit" ;;
        show) opts+=" --version" ;;
        restore) opts+=" --version --overwrite" ;;
        repair) opts+=" --dry-run --restore-missing" ;;
        problems) opts+=" --project" ;;
        worker) opts+=" --project --batch-size --poll-interval --timeout --force" ;;
        imports) opts+=" --in --depth --all" ;;
        hierarchy) opts+=" --down" ;;
        calls) opts+=" --callers --callees --both --depth --all" ;;
        usages) opts+=" --project --limit" ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    case $command in
        add) COMPREPLY=($(compgen -d -- "$cur")) ;;
        remove|repair|show|history|restore|outline|imports|chain|hierarchy|calls)
            if ((n == 0)); then
                COMPREPLY=($(compgen -W "$(_codeanalysisctl_projects "$user")" -- "$cur"))
            fi ;;
        worker)
            if ((n == 0)); then
                COMPREPLY=($(compgen -W "start stop restart status" -- "$cur"))
            elif ((n == 1)); then
                COMPREPLY=($(compgen -W "watcher vectorizer repair" -- "$cur"))
            fi ;;
    esac
}
complete -F _codeanalysisctl codeanalysisctl
